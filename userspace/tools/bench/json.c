// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: json-c helpers: numbers (null for NaN), lookups, and the
 * results directory's JSON files.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : json_object_new_null();
}

struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

double jdbl(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (!v || json_object_is_type(v, json_type_null))
		return NAN;
	return json_object_get_double(v);
}

const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *dflt(const char *s, const char *d)
{
	return s ? s : d;
}

char *out_path(const struct bench *b, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", b->o.out, name) < 0)
		return NULL;
	return p;
}

int save_json(const struct bench *b, const char *name, struct json_object *o)
{
	char *p = out_path(b, name);
	int ret;

	if (!p)
		return -ENOMEM;
	ret = json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (ret)
		msg("cannot write %s", p);
	else
		printf("# wrote %s\n", p);
	free(p);
	return ret ? -EIO : 0;
}

struct json_object *load_json(const struct bench *b, const char *name)
{
	char *p = out_path(b, name);
	struct json_object *o = NULL;

	if (p && access(p, R_OK) == 0)
		o = json_object_from_file(p);
	free(p);
	return o;
}
