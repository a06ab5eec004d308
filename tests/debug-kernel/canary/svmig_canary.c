// SPDX-License-Identifier: GPL-2.0
/*
 * A module that leaks on purpose, for tests/vm/t_kmemleak.sh on the debug
 * kernel of `make check-debug`: loading it allocates one object, fills it
 * with a marker and forgets the pointer, so kmemleak must report it.  It
 * proves that the lane's kmemleak checks can see a leak at all.  Never
 * loaded outside that test.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#define CANARY_MARK "SVMIG-KMEMLEAK-CANARY"

static int __init svmig_canary_init(void)
{
	char *p = kzalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	memcpy(p, CANARY_MARK, sizeof(CANARY_MARK));
	/* Keep the stores; then the only reference dies: that is the leak. */
	barrier_data(p);
	return 0;
}

static void __exit svmig_canary_exit(void)
{
}

module_init(svmig_canary_init);
module_exit(svmig_canary_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("svmig test: a deliberate leak that kmemleak must report");
