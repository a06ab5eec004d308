// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-vectors: print the wire-format test vectors (key=value lines, hex)
 * that Documentation/wire-vectors.txt holds (its format: the "Test vectors"
 * section of Documentation/wire-format.rst).  The generation code lives in
 * userspace/lib/wire-vectors.c (svmig_wire_write_vectors) so that the unit
 * tests run exactly the same code and compare with the committed file.
 *
 *   svmig-vectors > Documentation/wire-vectors.txt
 */
#include <stdio.h>
#include <string.h>

#include "wire.h"

int main(int argc, char **argv)
{
	int ret;

	if (argc > 1) {
		fprintf(stderr, "usage: %s > wire-vectors.txt\n", argv[0]);
		return 2;
	}
	ret = svmig_wire_write_vectors(stdout);
	if (!ret && fflush(stdout))
		ret = -1;
	if (ret) {
		fprintf(stderr, "svmig-vectors: %s\n",
			ret == -1 ? "write error" : strerror(-ret));
		return 1;
	}
	return 0;
}
