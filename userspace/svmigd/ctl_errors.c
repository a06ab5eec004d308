// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl: how a command fails before it could try: an option it
 * requires is missing, or the setup failed (no svmigd, no TPM, a file
 * that does not load), on standard error and, with --json, as the one
 * object on standard output.
 */
#include <stdarg.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ctl.h"

int need(const char *v, const char *name)
{
	if (v)
		return 0;
	fprintf(stderr, PROG ": %s is required\n", name);
	return -1;
}

/* A setup error: on stderr, and as {"ok":false,"error":..} with --json. */
int setup_fail(const struct args *a, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", msg);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "error", json_object_new_string(msg));
		print_json(o);
		json_object_put(o);
	}
	return 2;
}
