// SPDX-License-Identifier: GPL-2.0
/*
 * The journals of migrations in flight, the source's and the target's.
 * See journal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "journal.h"
#include "util.h"

#define JOURNAL_JSON_DEPTH	4
#define JOURNAL_SUFFIX		".json"

static const char *const phase_names[] = {
	[SVMIGD_JOURNAL_DATA] = "data",
	[SVMIGD_JOURNAL_COMMIT] = "commit",
	[SVMIGD_JOURNAL_RESUMED] = "resumed",
};

const char *svmigd_journal_phase_name(enum svmigd_journal_phase phase)
{
	if ((unsigned int)phase >= sizeof(phase_names) / sizeof(phase_names[0]))
		return "?";
	return phase_names[phase];
}

bool svmigd_journal_vm_ok(const char *vm)
{
	const char *p;

	if (!vm[0] || vm[0] == '.' || strlen(vm) > SVMIGD_NAME_MAX)
		return false;
	for (p = vm; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

static int entry_path(char *path, size_t len, const char *dir, const char *vm,
		      const char *suffix)
{
	int n = snprintf(path, len, "%s/%s%s", dir, vm, suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

static struct json_object *entry_json(const struct svmigd_journal_entry *e)
{
	struct json_object *o = json_object_new_object();
	char hex[2 * SVMIGD_SESSION_ID_LEN + 1];

	svmigd_hex_encode(hex, e->session, SVMIGD_SESSION_ID_LEN);
	json_object_object_add(o, "vm", json_object_new_string(e->vm));
	json_object_object_add(o, "peer", json_object_new_string(e->peer));
	json_object_object_add(o, "operator", json_object_new_string(e->operator));
	json_object_object_add(o, "session", json_object_new_string(hex));
	json_object_object_add(o, "phase", json_object_new_string(
		svmigd_journal_phase_name(e->phase)));
	json_object_object_add(o, "was_running",
			       json_object_new_boolean(e->was_running));
	json_object_object_add(o, "time", json_object_new_int64(e->time));
	return o;
}

/* Writes all of @text to a new @tmp and makes it durable. */
static int write_durably(const char *tmp, const char *text, char *err,
			 size_t errlen)
{
	size_t len = strlen(text), off = 0;
	int fd, ret = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return svmigd_fail(err, errlen, -errno, "%s: %s", tmp,
				  svmigd_strerror(errno));
	while (!ret && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return svmigd_fail(err, errlen, ret, "%s: %s", tmp,
				  svmigd_strerror(-ret));
	}
	return 0;
}

int svmigd_journal_write(const char *dir, const struct svmigd_journal_entry *e,
			 char *err, size_t errlen)
{
	char path[4096], tmp[4096];
	struct json_object *o;
	int ret;

	if (!svmigd_journal_vm_ok(e->vm) || (unsigned int)e->phase > SVMIGD_JOURNAL_RESUMED)
		return svmigd_fail(err, errlen, -EINVAL,
				  "journal: VM name '%s' or phase %d not journalled",
				  e->vm, (int)e->phase);
	if (entry_path(path, sizeof(path), dir, e->vm, JOURNAL_SUFFIX) ||
	    entry_path(tmp, sizeof(tmp), dir, e->vm, JOURNAL_SUFFIX ".tmp"))
		return svmigd_fail(err, errlen, -ENAMETOOLONG,
				  "journal: %s: path too long", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return svmigd_fail(err, errlen, -errno, "journal: %s: %s", dir,
				  svmigd_strerror(errno));
	o = entry_json(e);
	ret = write_durably(tmp, json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN), err, errlen);
	json_object_put(o);
	if (ret)
		return ret;
	if (rename(tmp, path)) {
		ret = -errno;
		unlink(tmp);
		return svmigd_fail(err, errlen, ret, "journal: %s: %s", path,
				  svmigd_strerror(-ret));
	}
	ret = fsync_dir(dir);
	if (ret)
		return svmigd_fail(err, errlen, ret, "journal: %s: %s", dir,
				  svmigd_strerror(-ret));
	return 0;
}

int svmigd_journal_remove(const char *dir, const char *vm, char *err,
			  size_t errlen)
{
	char path[4096];
	int ret;

	if (!svmigd_journal_vm_ok(vm))
		return svmigd_fail(err, errlen, -EINVAL,
				  "journal: VM name '%s' not journalled", vm);
	if (entry_path(path, sizeof(path), dir, vm, JOURNAL_SUFFIX))
		return svmigd_fail(err, errlen, -ENAMETOOLONG,
				  "journal: %s: path too long", dir);
	if (unlink(path) && errno != ENOENT)
		return svmigd_fail(err, errlen, -errno, "journal: %s: %s", path,
				  svmigd_strerror(errno));
	ret = fsync_dir(dir);
	if (ret && ret != -ENOENT)
		return svmigd_fail(err, errlen, ret, "journal: %s: %s", dir,
				  svmigd_strerror(-ret));
	return 0;
}

/* Copies the string member @key of @o into @out (at most @len - 1 bytes). */
static int get_str(struct json_object *o, const char *key, char *out,
		   size_t len)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if (!s[0] || strlen(s) >= len)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int entry_parse(struct json_object *o, struct svmigd_journal_entry *e)
{
	char hex[2 * SVMIGD_SESSION_ID_LEN + 1], phase[16];
	struct json_object *v;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 7 ||
	    get_str(o, "vm", e->vm, sizeof(e->vm)) ||
	    !svmigd_journal_vm_ok(e->vm) ||
	    get_str(o, "peer", e->peer, sizeof(e->peer)) ||
	    get_str(o, "operator", e->operator, sizeof(e->operator)) ||
	    get_str(o, "session", hex, sizeof(hex)) ||
	    svmigd_hex_decode(e->session, SVMIGD_SESSION_ID_LEN, hex) ||
	    get_str(o, "phase", phase, sizeof(phase)))
		return -1;
	if (!strcmp(phase, "data"))
		e->phase = SVMIGD_JOURNAL_DATA;
	else if (!strcmp(phase, "commit"))
		e->phase = SVMIGD_JOURNAL_COMMIT;
	else if (!strcmp(phase, "resumed"))
		e->phase = SVMIGD_JOURNAL_RESUMED;
	else
		return -1;
	if (!json_object_object_get_ex(o, "was_running", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	e->was_running = json_object_get_boolean(v);
	if (!json_object_object_get_ex(o, "time", &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	e->time = json_object_get_int64(v);
	return 0;
}

int svmigd_journal_read(const char *path, struct svmigd_journal_entry *e,
			char *err, size_t errlen)
{
	struct json_object *o;
	char why[256];
	uint8_t *buf;
	size_t len;
	int ret;

	ret = svmigd_read_file(path, SVMIGD_JOURNAL_FILE_MAX, &buf, &len, err,
			       errlen);
	if (ret)
		return ret;
	ret = svmigd_json_parse((const char *)buf, len, JOURNAL_JSON_DEPTH, &o,
				why, sizeof(why));
	free(buf);
	if (ret)
		return svmigd_fail(err, errlen, -EBADMSG, "%s: %s", path, why);
	ret = entry_parse(o, e) ? -EBADMSG : 0;
	json_object_put(o);
	if (ret)
		return svmigd_fail(err, errlen, ret, "%s: not a journal entry",
				  path);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of @dir's "*.json" files, sorted; *names is malloc'd. */
static int list_entries(const char *dir, char ***names, size_t *n)
{
	size_t len, cap = 0, cnt = 0;
	struct dirent *de;
	char **v = NULL, **nv;
	DIR *d;

	*names = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= strlen(JOURNAL_SUFFIX) ||
		    strcmp(de->d_name + len - strlen(JOURNAL_SUFFIX), JOURNAL_SUFFIX))
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[cnt] = strdup(de->d_name);
		if (!v[cnt])
			goto nomem;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), name_cmp);
	*names = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	while (cnt)
		free(v[--cnt]);
	free(v);
	return -ENOMEM;
}

int svmigd_journal_scan(const char *dir,
			int (*fn)(void *arg, const struct svmigd_journal_entry *e),
			void (*bad)(void *arg, const char *file, const char *why),
			void *arg, char *err, size_t errlen)
{
	struct svmigd_journal_entry e;
	char path[4096], why[512];
	size_t i, n;
	char **names;
	int ret;

	ret = list_entries(dir, &names, &n);
	if (ret)
		return svmigd_fail(err, errlen, ret, "journal: %s: %s", dir,
				  svmigd_strerror(-ret));
	for (i = 0; i < n && !ret; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) >= sizeof(path)) {
			if (bad)
				bad(arg, names[i], "path too long");
			continue;
		}
		if (svmigd_journal_read(path, &e, why, sizeof(why))) {
			if (bad)
				bad(arg, names[i], why);
			continue;
		}
		if (strlen(names[i]) != strlen(e.vm) + strlen(JOURNAL_SUFFIX) ||
		    strncmp(names[i], e.vm, strlen(e.vm))) {
			if (bad)
				bad(arg, names[i], "names another VM's entry");
			continue;
		}
		ret = fn(arg, &e);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}
