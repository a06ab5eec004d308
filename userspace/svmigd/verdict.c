// SPDX-License-Identifier: GPL-2.0
/*
 * Why a target failed a migration, for its receipt.  See verdict.h.
 */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "verdict.h"

static void copy_printable(char *out, size_t len, const char *in)
{
	size_t i, max = len - 1 < SVMIGD_REASON_MAX ? len - 1 : SVMIGD_REASON_MAX;

	for (i = 0; in[i] && i < max; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/* What svmig.ko refused (@buf may hold it), or NULL when it refused nothing. */
static const char *kernel_refusal(const struct svmig_stats *st, char *buf,
				  size_t len)
{
	if (!st)
		return NULL;
	if (st->auth_failures)
		return "authentication failure";
	if (st->replays)
		return "replayed or reordered record";
	if (st->proto_errors)
		return "malformed record";
	if (st->verdict == SVMIG_VERDICT_TRUNCATED)
		return "stream truncated (no END record)";
	if (st->verdict == SVMIG_VERDICT_MISMATCH)
		return "END record does not match the stream";
	if (st->error)
		return svmigd_strerror_r(st->error < 0 ? -st->error : st->error,
					 buf, len);
	return NULL;
}

void svmigd_stream_reason(const struct svmig_stats *st, const char *account,
			  char *out, size_t len)
{
	char text[SVMIGD_REASON_MAX + 64], errbuf[SVMIGD_STRERROR_LEN];
	const char *refusal = kernel_refusal(st, errbuf, sizeof(errbuf));

	if (!len)
		return;
	if (refusal)
		snprintf(text, sizeof(text), "%s after %llu records", refusal,
			 (unsigned long long)st->records);
	else if (account && account[0])
		snprintf(text, sizeof(text), "%s", account);
	else
		snprintf(text, sizeof(text), "the migration failed after %llu records",
			 st ? (unsigned long long)st->records : 0ULL);
	copy_printable(out, len, text);
}

bool svmigd_reason_ok(const char *reason)
{
	size_t i;

	for (i = 0; reason[i]; i++)
		if (i >= SVMIGD_REASON_MAX || reason[i] < 0x20 || reason[i] >= 0x7f)
			return false;
	return i > 0;
}
