// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl: the JSON of svmigd's answers read (jstr, jnum, jbool), and
 * the one object of --json built (add_str, add_int) and printed.
 */
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ctl.h"

/* @o's string member @key, or NULL. */
const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* @o's number member @key, or -1. */
long long jnum(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) ||
	      json_object_is_type(v, json_type_double)))
		return -1;
	return (long long)json_object_get_int64(v);
}

bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

void add_str(struct json_object *o, const char *key, const char *val)
{
	if (val)
		json_object_object_add(o, key, json_object_new_string(val));
}

void add_int(struct json_object *o, const char *key, long long v)
{
	if (v >= 0)
		json_object_object_add(o, key, json_object_new_int64(v));
}

void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE));
}
