/* SPDX-License-Identifier: GPL-2.0 */
/*
 * verdict: why a target failed a migration, in the words its signed
 * RECEIPT carries to the source's operator (session.h, "reason"), from
 * svmig.ko's counters and errno (struct svmig_stats) or, when the kernel
 * saw nothing wrong, svmigd's own account (QEMU failed, no data
 * connection...).
 *
 * A reason is 1 .. SVMIGD_REASON_MAX bytes of printable ASCII; anything
 * else in the account is replaced with '?' and a longer one is cut.
 */
#ifndef SVMIGD_VERDICT_H
#define SVMIGD_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/svmig.h>

#define SVMIGD_REASON_MAX	200

/*
 * The reason of a failed stream into @out (at least SVMIGD_REASON_MAX + 1
 * bytes): "authentication failure after 43 records" when @st (NULL: no
 * channel) shows one, else the kernel's other refusals, else @account
 * (may be NULL).
 */
void svmigd_stream_reason(const struct svmig_stats *st, const char *account,
			  char *out, size_t len);

/* True if @reason is 1 .. SVMIGD_REASON_MAX printable ASCII bytes. */
bool svmigd_reason_ok(const char *reason);

#endif /* SVMIGD_VERDICT_H */
