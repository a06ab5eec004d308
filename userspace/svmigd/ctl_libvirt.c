// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl migrate --libvirt DOMAIN --to HOST: svmigd has libvirt migrate
 * the domain through svmig's relay (Documentation/libvirt.rst).  The
 * signed request is what authorizes it; DOMAIN and HOST repeat its VM and
 * target so that an operator's command line cannot say one thing while
 * the request says another.
 */
#include <json-c/json.h>

#include "ctl.h"

int ctl_libvirt_check(const struct args *a, struct json_object *signed_req)
{
	struct json_object *r = NULL;
	const char *vm, *target;

	if (a->postcopy)	/* Documentation/libvirt.rst, "postcopy" */
		return setup_fail(a, "--postcopy: refused: postcopy runs the VM on the "
				  "target before svmig verified the stream's END, and after "
				  "the switchover the source can no longer take it back "
				  "(Documentation/libvirt.rst, \"postcopy\")");
	if (!a->libvirt) {
		if (a->to || a->channels)
			return setup_fail(a, "--to and --channels go with --libvirt");
		return 0;
	}
	if (need(a->to, "--to"))
		return 2;
	if (!json_object_object_get_ex(signed_req, "request", &r) ||
	    !json_object_is_type(r, json_type_object))
		return setup_fail(a, "%s: no request object", a->request);
	vm = jstr(r, "vm");
	target = jstr(r, "target");
	if (!is(vm, a->libvirt))
		return setup_fail(a, "--libvirt %s, but the request is for vm %s",
				  a->libvirt, vm ? vm : "-");
	if (!is(target, a->to))
		return setup_fail(a, "--to %s, but the request's target is %s", a->to,
				  target ? target : "-");
	return 0;
}
