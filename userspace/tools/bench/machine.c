// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the machine a run was measured on: CPU model and flags,
 * the hypervisor (TCG or KVM), kernel, OpenSSL and the kernel's AEAD.
 */
#include <cpuid.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "bench.h"

static bool has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);
	const char *p = flags;

	while ((p = strstr(p, flag))) {
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static void cpu_model(char *buf, size_t len, char *flags, size_t flen)
{
	static const char *const want[] = { "aes", "pclmulqdq", "avx", "avx2", "vaes",
					    "vpclmulqdq", "avx512f", "hypervisor" };
	static char line[16384];
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool got_model = false, got_flags = false;
	size_t i, used;
	char *v;

	snprintf(buf, len, "unknown");
	flags[0] = '\0';
	if (!f)
		return;
	while (!(got_model && got_flags) && fgets(line, sizeof(line), f)) {
		v = strchr(line, ':');
		if (!v)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\n")] = '\0';
		if (!got_model && !strncmp(line, "model name", 10)) {
			snprintf(buf, len, "%s", v);
			got_model = true;
		} else if (!got_flags && !strncmp(line, "flags", 5)) {
			for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
				used = strlen(flags);
				if (has_flag(v, want[i]))
					snprintf(flags + used, flen - used, "%s%s",
						 used ? " " : "", want[i]);
			}
			got_flags = true;
		}
	}
	fclose(f);
}

/* The hypervisor's CPUID signature: "TCGTCGTCGTCG" is QEMU's emulator. */
static void hypervisor(char *sig, size_t len, const char **accel)
{
	unsigned int a, b, c, d;
	char s[13];

	snprintf(sig, len, "none");
	*accel = "bare metal (no hypervisor bit)";
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1U << 31)))
		return;
	__cpuid(0x40000000, a, b, c, d);
	memcpy(s, &b, 4);
	memcpy(s + 4, &c, 4);
	memcpy(s + 8, &d, 4);
	s[12] = '\0';
	snprintf(sig, len, "%s", s);
	if (!strcmp(s, "TCGTCGTCGTCG"))
		*accel = "TCG";
	else if (!strncmp(s, "KVMKVMKVM", 9))
		*accel = "KVM";
	else
		*accel = "a hypervisor";
}

struct json_object *machine_json(const struct bench *b)
{
	struct json_object *m = json_object_new_object();
	char model[256], flags[256], sig[16], date[64];
	const char *accel;
	struct utsname u;
	time_t now = time(NULL);

	cpu_model(model, sizeof(model), flags, sizeof(flags));
	hypervisor(sig, sizeof(sig), &accel);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	uname(&u);
	json_object_object_add(m, "date", json_object_new_string(date));
	json_object_object_add(m, "cpu", json_object_new_string(model));
	json_object_object_add(m, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(m, "cpu_flags", json_object_new_string(flags));
	json_object_object_add(m, "hypervisor", json_object_new_string(sig));
	json_object_object_add(m, "accel", json_object_new_string(accel));
	json_object_object_add(m, "kernel", json_object_new_string(u.release));
	json_object_object_add(m, "openssl", json_object_new_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_object_add(m, "aead_driver", json_object_new_string(b->aead_driver[0] ?
							b->aead_driver : "unknown"));
	return m;
}

const char *under(struct json_object *machine)
{
	const char *a = jstr(machine, "accel");

	return a && !strcmp(a, "TCG") ? "under TCG" : a ? a : "unknown machine";
}
