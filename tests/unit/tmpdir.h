/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Removes a flat scratch directory made with mkdtemp() by a unit test:
 * its files, then the directory.  0, or -1 if anything stayed behind.
 */
#ifndef SVMIG_TEST_TMPDIR_H
#define SVMIG_TEST_TMPDIR_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline int test_rmdir(const char *path)
{
	char file[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(path);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(file, sizeof(file), "%s/%s", path, e->d_name) <
		    (int)sizeof(file))
			unlink(file);
	}
	closedir(d);
	return rmdir(path);
}

#endif /* SVMIG_TEST_TMPDIR_H */
