// SPDX-License-Identifier: GPL-2.0
/*
 * svmig test guest: a bare-metal x86 program (multiboot v1, 32-bit
 * protected mode, no interrupts) that QEMU boots with -kernel guest.elf.
 * It exists to be live-migrated: it keeps dirtying a memory region and
 * keeps checking that the region is consistent, so a migration that loses,
 * stales or corrupts a page shows up as a failed self-check on the
 * destination.
 *
 * Memory (guest-physical):
 *   0x100000  this image (code, data, bss, 16 KiB stack)
 *   0x200000  gen[]: one 32-bit generation counter per data page
 *   0x400000  the data region: `pages` pages of 4 KiB
 * Invariant: data page p holds the 1024 words of the xorshift32 stream
 * seeded by (seed, p, gen[p]), and the sum of gen[] equals `writes`, the
 * number of page rewrites done so far.
 *
 * Loop: rewrite `burst` pseudo-randomly chosen pages (gen[p]++, then the
 * page's new contents; the choice is a hash of `writes`), then verify every
 * word of every page and the sum, and print on COM1:
 *   selfcheck ok iter=N pages=M writes=W
 * On a mismatch it prints up to 8 lines "selfcheck FAIL iter=N page=P ..."
 * and a summary "selfcheck FAIL iter=N bad=K ...", then "svmig-guest:
 * halted", and stops (cli; hlt) so that no "ok" line follows a failure.
 * At boot it prints one line "svmig-guest: boot ..." and, after filling the
 * region, "svmig-guest: ready ...": a migrated guest prints neither again.
 *
 * Kernel command line (QEMU -append), all optional, decimal or 0x-hex:
 *   pages=N   data pages (default 1024 = 4 MiB; capped by guest RAM)
 *   burst=N   page rewrites between two self-checks (default 256)
 *   seed=N    mixes into every page's contents (default 1)
 *   corrupt=N negative control: just before self-check N, flip one bit of
 *             data page N % pages behind the invariant's back, so that
 *             self-check N must fail (default 0: never)
 */

typedef unsigned int u32;
typedef unsigned char u8;
typedef unsigned short u16;

#define PAGE_WORDS	1024u
#define PAGE_SIZE	4096u
#define GEN_BASE	0x200000u
#define DATA_BASE	0x400000u
#define MAX_PAGES	((DATA_BASE - GEN_BASE) / 4u)	/* gen[] must fit */
#define MB_BOOT_MAGIC	0x2BADB002u
#define COM1		0x3f8

extern char __image_end[];

/* All state lives in RAM (.bss), so it migrates with the guest. */
static u32 pages = 1024;
static u32 burst = 256;
static u32 seed = 1;
static u32 corrupt;
static u32 writes;
static u32 iter;
static volatile u32 *const gen = (volatile u32 *)GEN_BASE;

void *memset(void *s, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void guest_main(u32 magic, const u32 *mbi);

/* In case the compiler emits calls to these. */
void *memset(void *s, int c, unsigned long n)
{
	u8 *p = s;

	while (n--)
		*p++ = (u8)c;
	return s;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS */
}

static void putc_serial(char c)
{
	u32 spin = 100000;

	while (!(inb(COM1 + 5) & 0x20) && --spin)
		;
	outb(COM1, (u8)c);
}

static void puts_serial(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s++);
	}
}

static void put_dec(u32 v)
{
	char buf[11];
	int i = 10;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_serial(buf + i);
}

static void put_hex(u32 v)
{
	static const char digits[] = "0123456789abcdef";
	int shift;

	puts_serial("0x");
	for (shift = 28; shift >= 0; shift -= 4)
		putc_serial(digits[(v >> shift) & 15]);
}

static void put_kv(const char *key, u32 v, int hex)
{
	puts_serial(key);
	if (hex)
		put_hex(v);
	else
		put_dec(v);
}

static __attribute__((noreturn)) void halt(void)
{
	puts_serial("svmig-guest: halted\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Murmur3's finalizer: a cheap 32-bit mixer. */
static u32 mix32(u32 x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

static u32 page_seed(u32 p, u32 g)
{
	u32 s = mix32(mix32(p * 0x9e3779b9u ^ seed) + g);

	return s ? s : 0x6d2b79f5u;	/* xorshift32 must not start at 0 */
}

static inline u32 xorshift32(u32 x)
{
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static inline volatile u32 *page_ptr(u32 p)
{
	return (volatile u32 *)(DATA_BASE + p * PAGE_SIZE);
}

static void fill_page(u32 p, u32 g)
{
	volatile u32 *w = page_ptr(p);
	u32 x = page_seed(p, g);
	u32 i;

	for (i = 0; i < PAGE_WORDS; i++) {
		x = xorshift32(x);
		w[i] = x;
	}
}

/* Rewrite one pseudo-random page with its next generation. */
static void dirty_one(void)
{
	u32 p = mix32(writes ^ (seed * 0x27d4eb2fu)) % pages;
	u32 g = gen[p] + 1;

	gen[p] = g;
	fill_page(p, g);
	writes++;
}

static u32 selfcheck(void)
{
	u32 p, i, bad = 0, sum = 0;

	for (p = 0; p < pages; p++) {
		volatile u32 *w = page_ptr(p);
		u32 g = gen[p];
		u32 x = page_seed(p, g);

		sum += g;
		for (i = 0; i < PAGE_WORDS; i++) {
			x = xorshift32(x);
			if (w[i] == x)
				continue;
			if (bad++ < 8) {
				put_kv("selfcheck FAIL iter=", iter, 0);
				put_kv(" page=", p, 0);
				put_kv(" word=", i, 0);
				put_kv(" gen=", g, 0);
				put_kv(" got=", w[i], 1);
				put_kv(" want=", x, 1);
				puts_serial("\n");
			}
		}
	}
	if (sum != writes) {
		bad++;
		put_kv("selfcheck FAIL iter=", iter, 0);
		put_kv(" gensum=", sum, 0);
		put_kv(" writes=", writes, 0);
		puts_serial("\n");
	}
	return bad;
}

/* Parse "key=NUMBER" out of the command line; 1 if found. */
static int cmdline_u32(const char *cmd, const char *key, u32 *out)
{
	const char *s = cmd;

	while (*s) {
		const char *k = key, *t;
		u32 v = 0, base = 10;
		int digits = 0;

		while (*s == ' ')
			s++;
		t = s;
		while (*k && *t == *k) {
			t++;
			k++;
		}
		if (!*k && *t == '=') {
			t++;
			if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
				base = 16;
				t += 2;
			}
			for (;; t++, digits++) {
				u32 d;

				if (*t >= '0' && *t <= '9')
					d = (u32)(*t - '0');
				else if (base == 16 && *t >= 'a' && *t <= 'f')
					d = (u32)(*t - 'a' + 10);
				else if (base == 16 && *t >= 'A' && *t <= 'F')
					d = (u32)(*t - 'A' + 10);
				else
					break;
				v = v * base + d;
			}
			if (digits && (*t == ' ' || !*t)) {
				*out = v;
				return 1;
			}
		}
		while (*s && *s != ' ')
			s++;
	}
	return 0;
}

void guest_main(u32 magic, const u32 *mbi)
{
	const char *cmd = "";
	u32 mem_upper_kib = 0, max_pages, bad, p;

	serial_init();
	if (magic != MB_BOOT_MAGIC) {
		put_kv("svmig-guest: not booted by a multiboot loader, eax=",
		       magic, 1);
		puts_serial("\n");
		halt();
	}
	if (mbi[0] & 1)
		mem_upper_kib = mbi[2];
	if (mem_upper_kib > 0x300000)	/* use at most 3 GiB: no overflow */
		mem_upper_kib = 0x300000;
	if (mbi[0] & 4)
		cmd = (const char *)mbi[4];
	cmdline_u32(cmd, "pages", &pages);
	cmdline_u32(cmd, "burst", &burst);
	cmdline_u32(cmd, "seed", &seed);
	cmdline_u32(cmd, "corrupt", &corrupt);

	/* RAM above 1 MiB ends at 1 MiB + mem_upper. */
	if ((u32)__image_end > GEN_BASE || mem_upper_kib * 1024u < DATA_BASE) {
		put_kv("svmig-guest: not enough memory: mem_upper=",
		       mem_upper_kib, 0);
		puts_serial(" KiB\n");
		halt();
	}
	max_pages = (0x100000u + mem_upper_kib * 1024u - DATA_BASE) / PAGE_SIZE;
	if (max_pages > MAX_PAGES)
		max_pages = MAX_PAGES;
	if (pages > max_pages)
		pages = max_pages;
	if (!pages)
		pages = 1;
	if (!burst)
		burst = 1;

	put_kv("svmig-guest: boot pages=", pages, 0);
	put_kv(" burst=", burst, 0);
	put_kv(" seed=", seed, 0);
	if (corrupt)
		put_kv(" corrupt=", corrupt, 0);
	put_kv(" data=", DATA_BASE, 1);
	put_kv(" gen=", GEN_BASE, 1);
	put_kv(" mem_upper_kib=", mem_upper_kib, 0);
	puts_serial("\n");

	for (p = 0; p < pages; p++) {
		gen[p] = 0;
		fill_page(p, 0);
	}
	puts_serial("svmig-guest: ready\n");

	for (;;) {
		u32 i;

		for (i = 0; i < burst; i++)
			dirty_one();
		iter++;
		if (iter == corrupt) {
			page_ptr(iter % pages)[7] ^= 0x100;
			put_kv("svmig-guest: corrupted page ", iter % pages, 0);
			puts_serial(" (corrupt=)\n");
		}
		bad = selfcheck();
		if (bad) {
			put_kv("selfcheck FAIL iter=", iter, 0);
			put_kv(" bad=", bad, 0);
			put_kv(" pages=", pages, 0);
			put_kv(" writes=", writes, 0);
			puts_serial("\n");
			halt();
		}
		put_kv("selfcheck ok iter=", iter, 0);
		put_kv(" pages=", pages, 0);
		put_kv(" writes=", writes, 0);
		puts_serial("\n");
	}
}
