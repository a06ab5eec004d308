// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-vmm: a tiny KVM VMM that live-migrates its own guest's memory
 * through /dev/svmig, driven by real KVM dirty logs.
 *
 * The guest is one vCPU in 32-bit protected mode without paging, running a
 * hand-assembled loop that walks a linear congruential generator and stores
 * its value into pseudo-random pages of the data slot; after every --stores
 * stores it bumps a heartbeat counter in the code slot and exits with an
 * OUT to port 0x10, so the VMM regains control.  The vCPU runs in its own
 * thread, granted --exits such exits per round, concurrently with the
 * sending of the previous round's pages (so pages change while they are
 * sealed, as in a real live migration).
 *
 * Migration: round 0 sends every page of both slots; rounds 1..R wait for
 * the vCPU to use its grant, read KVM_GET_DIRTY_LOG for each slot and send
 * those pages while the vCPU runs on; the final round does the same with
 * the vCPU stopped, then the sender emits the manifest.  A receiver thread
 * with its own /dev/svmig channel writes into a separate destination copy
 * and verifies the manifest.  With --no-svmig, dirty pages are copied with
 * memcpy instead (the plain-copy baseline).
 *
 * Because the guest program is deterministic, the VMM replays it in C: each
 * round's dirty log must hold every page the replay wrote in that round
 * (KVM may add a stray page, never drop one), and the guest's memory,
 * heartbeat and registers must equal the replay's at the end.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/kvm.h>

#include "libsvmig.h"

#define PAGE_SIZE	((uint64_t)4096)
#define PAGE_SHIFT	12
#define MIB		((uint64_t)1 << 20)

#define CODE_SLOT	0
#define CODE_GPA	0x0ULL
#define CODE_SIZE	MIB
#define GUEST_ENTRY	0x1000ULL
#define HEARTBEAT_GPA	0x8000ULL
#define DATA_SLOT	1
#define DATA_GPA	0x100000ULL
#define NSLOTS		2
#define PIO_PORT	0x10
#define TSS_GPA		0xfffbd000UL

#define LCG_MUL		1664525U
#define LCG_ADD		1013904223U

#define MAX_ROUNDS	1000
#define MAX_MEM_MIB	3072		/* the data slot stays below 4 GiB */
#define RING_ENTRIES	4096U
#define NTESTS		7

/*
 * The guest, loaded at GUEST_ENTRY.  On entry: ebx = DATA_GPA, esi = pages
 * in the data slot, edi = stores per exit, ebp = LCG state (the seed).
 */
static const uint8_t guest_code[] = {
	0x89, 0xf9,				/* 00 outer: mov ecx, edi */
	0x69, 0xed, 0x0d, 0x66, 0x19, 0x00,	/* 02 inner: imul ebp, ebp, LCG_MUL */
	0x81, 0xc5, 0x5f, 0xf3, 0x6e, 0x3c,	/* 08 add ebp, LCG_ADD */
	0x89, 0xe8,				/* 0e mov eax, ebp */
	0xf7, 0xe6,				/* 10 mul esi: edx = page */
	0xc1, 0xe2, 0x0c,			/* 12 shl edx, 12 */
	0x89, 0xe8,				/* 15 mov eax, ebp */
	0xc1, 0xe8, 0x08,			/* 17 shr eax, 8 */
	0x25, 0xfc, 0x0f, 0x00, 0x00,		/* 1a and eax, 0xffc */
	0x01, 0xc2,				/* 1f add edx, eax */
	0x89, 0x2c, 0x13,			/* 21 mov [ebx + edx], ebp */
	0x49,					/* 24 dec ecx */
	0x75, 0xdb,				/* 25 jnz inner */
	0xff, 0x05, 0x00, 0x80, 0x00, 0x00,	/* 27 inc dword [HEARTBEAT_GPA] */
	0xe6, PIO_PORT,				/* 2d out PIO_PORT, al */
	0xeb, 0xcf,				/* 2f jmp outer */
};

/* Where the guest resumes after its OUT: the final jmp. */
#define GUEST_RESUME	(sizeof(guest_code) - 2)

struct opts {
	unsigned int rounds;		/* live rounds between round 0 and final */
	unsigned int mem_mib;		/* data slot size */
	uint32_t stores;		/* guest stores per exit */
	uint32_t exits;			/* exits granted per round; 0: auto */
	uint32_t seed;
	bool no_svmig;
	bool demo;
	bool tap;
};

struct slot {
	uint32_t id;
	uint64_t gpa;
	uint64_t size;
	uint64_t npages;
	uint8_t *src;			/* the guest's memory */
	uint8_t *dst;			/* the destination copy */
	uint64_t *bitmap;		/* this round's dirty log */
	uint64_t *expect;		/* this round's replayed writes */
};

/* Hand-off between the main thread and the vCPU thread. */
struct vcpu_ctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t exits;			/* OUT exits completed */
	uint64_t allowed;		/* exits granted so far */
	bool quit;
	int err;
	pthread_t thread;
	bool started;
};

struct vm {
	int kvm;
	int fd;
	int vcpu;
	struct kvm_run *run;
	size_t run_size;
	struct slot slot[NSLOTS];
	struct vcpu_ctl ctl;
};

/* The replay of the guest program. */
struct sim {
	uint32_t state;
	uint32_t stores;
	uint64_t npages;
	uint8_t *mem;			/* expected data slot contents */
};

struct mig {
	int sfd;			/* sender channel */
	int rfd;			/* receiver channel */
	int ssock;
	int rsock;
	struct svmig_ring ring;
	pthread_t rthread;
	bool rstarted;
	int recv_ret;
	uint32_t recv_records;
	int verify_ret;
	struct svmig_stats sst;
	struct svmig_stats rst;
};

struct round {
	uint64_t pages[NSLOTS];
	double send_s;
	bool sim_ok;
};

struct ctx {
	struct opts o;
	struct vm vm;
	struct sim sim;
	struct mig mig;
	struct round *round;		/* rounds + 2 entries */
	unsigned int nround;		/* rounds completed */
	uint64_t pages_sent;
	uint64_t missing;		/* written, not in the dirty log */
	uint64_t extra;			/* in the dirty log, not written */
	double total_s;			/* round 0 start to destination done */
	double downtime_s;		/* final round: vCPU stopped to done */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	const char *where;		/* label for the timings */
};

static bool tap_mode;

/* Print a report line; a TAP diagnostic in --tap mode. */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;

	if (tap_mode)
		fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static int err_sys(const char *what)
{
	int e = errno;

	fflush(stdout);
	fprintf(stderr, "svmig-vmm: %s: %s\n", what, strerror(e));
	return -e;
}

static int err_ret(const char *what, int ret)
{
	fflush(stdout);
	fprintf(stderr, "svmig-vmm: %s: %s\n", what, strerror(-ret));
	return ret;
}

__attribute__((format(printf, 1, 2)))
static int err_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("svmig-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mib(uint64_t bytes)
{
	return (double)bytes / MIB;
}

static double rate(uint64_t bytes, double s)
{
	return s > 0 ? mib(bytes) / s : 0;
}

static uint64_t bitmap_words(uint64_t npages)
{
	return (npages + 63) / 64;
}

static void bitmap_fill(uint64_t *bm, uint64_t npages)
{
	memset(bm, 0xff, bitmap_words(npages) * 8);
	if (npages % 64)
		bm[npages / 64] = (1ULL << (npages % 64)) - 1;
}

static void bitmap_set(uint64_t *bm, uint64_t bit)
{
	bm[bit / 64] |= 1ULL << (bit % 64);
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svmig-vmm [options]\n"
		"  --rounds N     live rounds between the full round and the final one (default 5)\n"
		"  --mem-mib N    size of the guest's data slot in MiB (default 16)\n"
		"  --stores N     guest stores between two exits to the VMM (default 1024)\n"
		"  --exits N      exits granted to the vCPU per round (default: about\n"
		"                 half as many stores per round as data pages)\n"
		"  --seed N       guest LCG seed (default 1)\n"
		"  --no-svmig     copy dirty pages with memcpy: KVM part only, plain baseline\n"
		"  --tap          print TAP\n"
		"  --demo         print a human-readable report of what was verified\n"
		"  --help\n");
}

static int parse_num(const char *arg, const char *name, unsigned long min,
		     unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		return err_msg("--%s: expected a number from %lu to %lu, got '%s'",
			       name, min, max, arg);
	*out = v;
	return 0;
}

static const struct option long_opts[] = {
	{ "rounds", required_argument, NULL, 'r' },
	{ "mem-mib", required_argument, NULL, 'm' },
	{ "stores", required_argument, NULL, 's' },
	{ "exits", required_argument, NULL, 'e' },
	{ "seed", required_argument, NULL, 'S' },
	{ "no-svmig", no_argument, NULL, 'n' },
	{ "tap", no_argument, NULL, 't' },
	{ "demo", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_opt(struct opts *o, int c, const char *arg)
{
	unsigned long v;
	int ret = 0;

	switch (c) {
	case 'r':
		ret = parse_num(arg, "rounds", 0, MAX_ROUNDS, &v);
		o->rounds = v;
		break;
	case 'm':
		ret = parse_num(arg, "mem-mib", 1, MAX_MEM_MIB, &v);
		o->mem_mib = v;
		break;
	case 's':
		ret = parse_num(arg, "stores", 1, 1UL << 30, &v);
		o->stores = v;
		break;
	case 'e':
		ret = parse_num(arg, "exits", 1, 1UL << 30, &v);
		o->exits = v;
		break;
	case 'S':
		ret = parse_num(arg, "seed", 0, UINT32_MAX, &v);
		o->seed = v;
		break;
	case 'n':
		o->no_svmig = true;
		break;
	case 't':
		o->tap = true;
		break;
	case 'd':
		o->demo = true;
		break;
	default:
		return -EINVAL;
	}
	return ret;
}

/* Returns 0, 1 after --help, or -EINVAL. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	int c, ret;

	*o = (struct opts){ .rounds = 5, .mem_mib = 16, .stores = 1024,
			    .seed = 1 };
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		ret = parse_opt(o, c, optarg);
		if (ret) {
			usage(stderr);
			return ret;
		}
	}
	if (optind != argc) {
		err_msg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (!o->exits) {
		uint64_t want = (uint64_t)o->mem_mib * (MIB / PAGE_SIZE) / 2;

		o->exits = want > o->stores ? want / o->stores : 1;
	}
	tap_mode = o->tap;
	return 0;
}

/* ---- guest memory ----------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* MemAvailable from /proc/meminfo in bytes; 0 if unknown. */
static uint64_t mem_available(void)
{
	unsigned long long kib = 0;
	char line[128];
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

/* Refuse up front what the OOM killer would end halfway. */
static int check_memory(const struct opts *o)
{
	uint64_t need = 3 * (o->mem_mib * MIB + CODE_SIZE);
	uint64_t avail = mem_available();

	if (avail && need > avail)
		return err_msg("--mem-mib %u needs %" PRIu64 " MiB (guest memory, "
			       "destination copy, replay), %" PRIu64
			       " MiB available", o->mem_mib, need / MIB,
			       avail / MIB);
	return 0;
}

static void *map_mem(uint64_t size, const char *what)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		err_sys(what);
		return NULL;
	}
	return p;
}

static int slot_alloc(struct slot *s, uint32_t id, uint64_t gpa,
		      uint64_t size)
{
	s->id = id;
	s->gpa = gpa;
	s->size = size;
	s->npages = size / PAGE_SIZE;
	s->src = map_mem(size, "mmap guest memory");
	s->dst = map_mem(size, "mmap destination memory");
	s->bitmap = calloc(bitmap_words(s->npages), 8);
	s->expect = calloc(bitmap_words(s->npages), 8);
	if (!s->src || !s->dst)
		return -ENOMEM;
	if (!s->bitmap || !s->expect)
		return err_msg("out of memory for dirty bitmaps");
	return 0;
}

static void slot_free(struct slot *s)
{
	if (s->src)
		munmap(s->src, s->size);
	if (s->dst)
		munmap(s->dst, s->size);
	free(s->bitmap);
	free(s->expect);
}

/* Data pages start non-zero and different from each other. */
static void fill_pattern(struct slot *s, uint32_t seed)
{
	uint64_t *w = (uint64_t *)s->src;
	uint64_t i;

	for (i = 0; i < s->size / 8; i++)
		w[i] = mix64((s->gpa + i * 8) ^ ((uint64_t)seed << 40));
}

/* ---- KVM ------------------------------------------------------------- */

static int kvm_open(struct vm *vm)
{
	int ver;

	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return err_sys("open /dev/kvm (is kvm_amd or kvm_intel loaded?)");
	ver = ioctl(vm->kvm, KVM_GET_API_VERSION, 0);
	if (ver < 0)
		return err_sys("KVM_GET_API_VERSION");
	if (ver != KVM_API_VERSION)
		return err_msg("KVM API version %d, expected %d", ver,
			       KVM_API_VERSION);
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return err_sys("KVM_CREATE_VM");
	/* Needed by VMX for real mode, harmless under SVM. */
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, TSS_GPA) < 0)
		return err_sys("KVM_SET_TSS_ADDR");
	return 0;
}

static int kvm_add_slot(struct vm *vm, const struct slot *s)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = s->gpa,
		.memory_size = s->size,
		.userspace_addr = (uint64_t)(uintptr_t)s->src,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return err_sys("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

static void flat_segment(struct kvm_segment *seg, uint16_t sel, uint8_t type)
{
	*seg = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = type, .present = 1, .dpl = 0, .db = 1, .s = 1,
		.l = 0, .g = 1,
	};
}

/* 32-bit protected mode, flat segments, no paging, no GDT needed. */
static int vcpu_set_pmode(struct vm *vm)
{
	struct kvm_sregs sr;

	if (ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
		return err_sys("KVM_GET_SREGS");
	flat_segment(&sr.cs, 0x08, 11);		/* code, execute/read, accessed */
	flat_segment(&sr.ds, 0x10, 3);		/* data, read/write, accessed */
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.cr0 |= 1;				/* PE */
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &sr) < 0)
		return err_sys("KVM_SET_SREGS");
	return 0;
}

static int vcpu_set_regs(struct vm *vm, const struct opts *o)
{
	struct kvm_regs r = {
		.rflags = 2,
		.rip = GUEST_ENTRY,
		.rbx = DATA_GPA,
		.rsi = vm->slot[DATA_SLOT].npages,
		.rdi = o->stores,
		.rbp = o->seed,
	};

	if (ioctl(vm->vcpu, KVM_SET_REGS, &r) < 0)
		return err_sys("KVM_SET_REGS");
	return 0;
}

static int vcpu_create(struct vm *vm, const struct opts *o)
{
	int size, ret;

	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		return err_sys("KVM_CREATE_VCPU");
	size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0)
		return err_sys("KVM_GET_VCPU_MMAP_SIZE");
	if ((size_t)size < sizeof(struct kvm_run))
		return err_msg("KVM_GET_VCPU_MMAP_SIZE returned %d", size);
	vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return err_sys("mmap kvm_run");
	}
	vm->run_size = size;
	ret = vcpu_set_pmode(vm);
	return ret ? ret : vcpu_set_regs(vm, o);
}

static int vm_setup(struct vm *vm, const struct opts *o)
{
	struct slot *code = &vm->slot[CODE_SLOT];
	struct slot *data = &vm->slot[DATA_SLOT];
	int i, ret;

	ret = slot_alloc(code, CODE_SLOT, CODE_GPA, CODE_SIZE);
	if (!ret)
		ret = slot_alloc(data, DATA_SLOT, DATA_GPA,
				 (uint64_t)o->mem_mib * MIB);
	if (ret)
		return ret;
	memcpy(code->src + GUEST_ENTRY, guest_code, sizeof(guest_code));
	fill_pattern(data, o->seed);
	ret = kvm_open(vm);
	for (i = 0; !ret && i < NSLOTS; i++)
		ret = kvm_add_slot(vm, &vm->slot[i]);
	return ret ? ret : vcpu_create(vm, o);
}

static void vm_teardown(struct vm *vm)
{
	int i;

	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm >= 0)
		close(vm->kvm);
	for (i = 0; i < NSLOTS; i++)
		slot_free(&vm->slot[i]);
}

static void print_regs(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	say("vCPU: rip=%#llx rflags=%#llx cr0=%#llx cs=%#x (base %#llx, %s-bit)",
	    r->rip, r->rflags, s->cr0, s->cs.selector, s->cs.base,
	    s->cs.db ? "32" : "16");
	say("vCPU: eax=%#llx ebx=%#llx ecx=%#llx edx=%#llx",
	    r->rax, r->rbx, r->rcx, r->rdx);
	say("vCPU: esi=%#llx edi=%#llx ebp=%#llx (LCG state) esp=%#llx",
	    r->rsi, r->rdi, r->rbp, r->rsp);
}

static int vcpu_get_regs(struct vm *vm, struct kvm_regs *r,
			 struct kvm_sregs *s)
{
	if (ioctl(vm->vcpu, KVM_GET_REGS, r) < 0)
		return err_sys("KVM_GET_REGS");
	if (ioctl(vm->vcpu, KVM_GET_SREGS, s) < 0)
		return err_sys("KVM_GET_SREGS");
	return 0;
}

static int bad_exit(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	struct kvm_regs r;
	struct kvm_sregs s;

	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		err_msg("vCPU entry failed, reason %#llx",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		err_msg("KVM internal error, suberror %u",
			run->internal.suberror);
		break;
	case KVM_EXIT_IO:
		err_msg("unexpected I/O exit: port %#x, %s, size %u",
			run->io.port,
			run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			run->io.size);
		break;
	default:
		err_msg("unexpected KVM exit reason %u", run->exit_reason);
		break;
	}
	if (!vcpu_get_regs(vm, &r, &s))
		print_regs(&r, &s);
	return -EIO;
}

/* Run the vCPU until its next OUT to PIO_PORT. */
static int vcpu_burst(struct vm *vm)
{
	struct kvm_run *run = vm->run;

	for (;;) {
		if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO &&
		    run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == PIO_PORT)
			return 0;
		return bad_exit(vm);
	}
}

/*
 * KVM completes an exit's I/O only when KVM_RUN is entered again
 * (Documentation/virt/kvm/api.rst, KVM_EXIT_IO): re-enter with
 * immediate_exit, which finishes the OUT (rip moves past it) and returns
 * -EINTR without running another instruction, so the vCPU state is whole.
 */
static int vcpu_complete_io(struct vm *vm)
{
	int ret;

	vm->run->immediate_exit = 1;
	ret = ioctl(vm->vcpu, KVM_RUN, 0);
	vm->run->immediate_exit = 0;
	if (ret < 0 && errno != EINTR)
		return err_sys("KVM_RUN (immediate_exit)");
	if (ret >= 0)
		return err_msg("KVM_RUN with immediate_exit ran the vCPU (exit %u)",
			       vm->run->exit_reason);
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct vm *vm = arg;
	struct vcpu_ctl *c = &vm->ctl;
	int err;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->quit && c->exits == c->allowed)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->quit) {
			pthread_mutex_unlock(&c->lock);
			err = c->exits ? vcpu_complete_io(vm) : 0;
			pthread_mutex_lock(&c->lock);
			c->err = err;
			break;
		}
		pthread_mutex_unlock(&c->lock);
		err = vcpu_burst(vm);
		pthread_mutex_lock(&c->lock);
		if (err) {
			c->err = err;
			pthread_cond_broadcast(&c->cond);
			break;
		}
		c->exits++;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static int vcpu_start(struct vm *vm)
{
	struct vcpu_ctl *c = &vm->ctl;
	int ret;

	ret = pthread_create(&c->thread, NULL, vcpu_thread, vm);
	if (ret)
		return err_ret("pthread_create (vCPU)", -ret);
	c->started = true;
	return 0;
}

static void vcpu_grant(struct vm *vm, uint64_t exits)
{
	struct vcpu_ctl *c = &vm->ctl;

	pthread_mutex_lock(&c->lock);
	c->allowed += exits;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Wait until the vCPU has used its grant and sits outside KVM_RUN. */
static int vcpu_wait_parked(struct vm *vm)
{
	struct vcpu_ctl *c = &vm->ctl;
	int err;

	pthread_mutex_lock(&c->lock);
	while (!c->err && c->exits < c->allowed)
		pthread_cond_wait(&c->cond, &c->lock);
	err = c->err;
	pthread_mutex_unlock(&c->lock);
	return err;
}

static int vcpu_stop(struct vm *vm)
{
	struct vcpu_ctl *c = &vm->ctl;
	int ret;

	if (!c->started)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	ret = pthread_join(c->thread, NULL);
	c->started = false;
	if (ret)
		return err_ret("pthread_join (vCPU)", -ret);
	return c->err;
}

static int get_dirty_log(struct vm *vm, struct slot *s)
{
	struct kvm_dirty_log log = { .slot = s->id };

	memset(s->bitmap, 0, bitmap_words(s->npages) * 8);
	log.dirty_bitmap = s->bitmap;
	if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return err_sys("KVM_GET_DIRTY_LOG");
	return 0;
}

/* ---- the replay of the guest ------------------------------------------ */

static int sim_init(struct sim *sim, const struct opts *o,
		    const struct slot *data)
{
	sim->state = o->seed;
	sim->stores = o->stores;
	sim->npages = data->npages;
	sim->mem = map_mem(data->size, "mmap replay memory");
	if (!sim->mem)
		return -ENOMEM;
	memcpy(sim->mem, data->src, data->size);
	return 0;
}

/* Do what the guest does in @exits exits; mark the pages in @touched. */
static void sim_run(struct sim *sim, uint64_t exits, uint64_t *touched)
{
	uint64_t n = exits * sim->stores;
	uint64_t page, off;

	while (n--) {
		sim->state = sim->state * LCG_MUL + LCG_ADD;
		page = ((uint64_t)sim->state * sim->npages) >> 32;
		off = (sim->state >> 8) & 0xffc;
		memcpy(sim->mem + page * PAGE_SIZE + off, &sim->state, 4);
		bitmap_set(touched, page);
	}
}

/*
 * Compare a dirty log with the replay.  A page the guest wrote but the log
 * misses would be lost by a migration: count it.  A page in the log that
 * the guest did not write is only resent needlessly: KVM may report such
 * pages (nested SVM under TCG reports the code page once), so count it
 * apart.  Say the first few of either.
 */
static void bitmaps_compare(struct ctx *x, const struct slot *s,
			    unsigned int round)
{
	uint64_t w, diff, page;
	bool extra;

	for (w = 0; w < bitmap_words(s->npages); w++) {
		for (diff = s->bitmap[w] ^ s->expect[w]; diff;
		     diff &= diff - 1) {
			page = w * 64 + __builtin_ctzll(diff);
			extra = s->bitmap[w] & (1ULL << (page % 64));
			if (x->missing + x->extra < 8)
				say("round %u: slot %u page %#" PRIx64
				    " (gpa %#" PRIx64 ") %s", round, s->id,
				    page, s->gpa + page * PAGE_SIZE, extra ?
				    "is in the dirty log but the guest did not write it (harmless)" :
				    "was written by the guest but is MISSING from the dirty log");
			if (extra)
				x->extra++;
			else
				x->missing++;
		}
	}
}

/*
 * The dirty log of a round must hold the pages the replay wrote in the
 * exits granted for it, plus the heartbeat page in the code slot.
 */
static bool sim_check_round(struct ctx *x, unsigned int round,
			    uint64_t exits)
{
	struct slot *code = &x->vm.slot[CODE_SLOT];
	struct slot *data = &x->vm.slot[DATA_SLOT];
	uint64_t missing = x->missing;

	memset(data->expect, 0, bitmap_words(data->npages) * 8);
	sim_run(&x->sim, exits, data->expect);
	memset(code->expect, 0, bitmap_words(code->npages) * 8);
	bitmap_set(code->expect, (HEARTBEAT_GPA - CODE_GPA) >> PAGE_SHIFT);
	bitmaps_compare(x, data, round);
	bitmaps_compare(x, code, round);
	return x->missing == missing;
}

/* ---- the svmig channels ----------------------------------------------- */

static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, ret = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return err_sys("socket");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		ret = err_sys("listen on 127.0.0.1");
		goto out;
	}
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = err_sys(errno == ENETUNREACH ?
			      "connect to 127.0.0.1 (is lo up? ip link set lo up)" :
			      "connect to 127.0.0.1");
		goto out;
	}
	*b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*b < 0)
		ret = err_sys("accept");
out:
	close(lfd);
	return ret;
}

static int check_info(int fd)
{
	struct svmig_info info;
	uint64_t need = SVMIG_FEAT_PAGE_MODE | SVMIG_FEAT_SOCKET;
	int ret;

	ret = svmig_get_info(fd, &info);
	if (ret)
		return err_ret("SVMIG_IOC_GET_INFO", ret);
	if (info.abi_version != SVMIG_ABI_VERSION ||
	    info.page_size != SVMIG_PAGE_SIZE)
		return err_msg("/dev/svmig: ABI %u page size %u, expected %u and %u",
			       info.abi_version, info.page_size,
			       SVMIG_ABI_VERSION, SVMIG_PAGE_SIZE);
	if ((info.features & need) != need)
		return err_msg("/dev/svmig lacks page mode or sockets (features %#llx)",
			       (unsigned long long)info.features);
	return (int)(info.max_ring_entries > INT32_MAX ? INT32_MAX :
		     info.max_ring_entries);
}

/* Open and key one end; its regions point at the source or destination. */
static int channel_open(struct vm *vm, uint32_t role, bool dst,
			const uint8_t *sid, const uint8_t *secret, int *max_ring)
{
	const char *name = role == SVMIG_ROLE_SENDER ? "sender" : "receiver";
	int fd, i, ret;

	fd = svmig_open();
	if (fd < 0)
		return err_ret("open " SVMIG_DEVICE " (is svmig.ko loaded?)", fd);
	ret = check_info(fd);
	if (ret < 0)
		goto fail;
	*max_ring = ret;
	ret = svmig_set_key(fd, role, 0, sid, secret);
	if (ret) {
		err_msg("%s: SVMIG_IOC_SET_KEY: %s", name, strerror(-ret));
		goto fail;
	}
	for (i = 0; i < NSLOTS; i++) {
		struct slot *s = &vm->slot[i];

		ret = svmig_add_region(fd, s->id, s->gpa,
				       dst ? s->dst : s->src, s->size);
		if (ret) {
			err_msg("%s: SVMIG_IOC_ADD_REGION slot %u: %s", name,
				s->id, strerror(-ret));
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return ret;
}

static uint32_t ring_size(int max_ring)
{
	uint32_t n = RING_ENTRIES;

	while (n > 1 && n > (uint32_t)max_ring)
		n >>= 1;
	return n;
}

static int channels_open(struct ctx *x)
{
	struct mig *m = &x->mig;
	uint8_t sid[SVMIG_SESSION_ID_LEN], secret[SVMIG_SECRET_LEN];
	int max_ring, unused, ret;

	if (getrandom(sid, sizeof(sid), 0) != sizeof(sid) ||
	    getrandom(secret, sizeof(secret), 0) != sizeof(secret))
		return err_sys("getrandom");
	m->sfd = channel_open(&x->vm, SVMIG_ROLE_SENDER, false, sid, secret,
			      &max_ring);
	if (m->sfd >= 0)
		m->rfd = channel_open(&x->vm, SVMIG_ROLE_RECEIVER, true, sid,
				      secret, &unused);
	explicit_bzero(secret, sizeof(secret));
	if (m->sfd < 0)
		return m->sfd;
	if (m->rfd < 0)
		return m->rfd;
	ret = svmig_ring_init(m->sfd, ring_size(max_ring), &m->ring);
	return ret ? err_ret("SVMIG_IOC_SETUP_RING / mmap ring", ret) : 0;
}

static int channels_connect(struct mig *m)
{
	int ret;

	ret = tcp_pair(&m->ssock, &m->rsock);
	if (ret)
		return ret;
	ret = svmig_attach_socket(m->sfd, m->ssock);
	if (ret)
		return err_ret("sender: SVMIG_IOC_ATTACH_SOCK", ret);
	ret = svmig_attach_socket(m->rfd, m->rsock);
	if (ret)
		return err_ret("receiver: SVMIG_IOC_ATTACH_SOCK", ret);
	return 0;
}

static void *recv_thread(void *arg)
{
	struct mig *m = arg;

	m->recv_ret = svmig_recv(m->rfd, 0, &m->recv_records);
	if (m->recv_ret)	/* unblock a sender stuck on a full socket */
		shutdown(m->rsock, SHUT_RDWR);
	return NULL;
}

static int receiver_start(struct mig *m)
{
	int ret;

	ret = pthread_create(&m->rthread, NULL, recv_thread, m);
	if (ret)
		return err_ret("pthread_create (receiver)", -ret);
	m->rstarted = true;
	return 0;
}

/*
 * Wait for the receiver thread; on @abort, cut the stream first so it
 * cannot hang.  Its own result stays in m->recv_ret.
 */
static int receiver_join(struct mig *m, bool abort)
{
	int ret;

	if (!m->rstarted)
		return 0;
	if (abort)
		shutdown(m->ssock, SHUT_RDWR);
	ret = pthread_join(m->rthread, NULL);
	m->rstarted = false;
	return ret ? err_ret("pthread_join (receiver)", -ret) : 0;
}

static void mig_init(struct mig *m)
{
	memset(m, 0, sizeof(*m));
	m->sfd = m->rfd = m->ssock = m->rsock = -1;
}

static void mig_close(struct mig *m)
{
	svmig_ring_exit(&m->ring);
	if (m->sfd >= 0)
		close(m->sfd);
	if (m->rfd >= 0)
		close(m->rfd);
	if (m->ssock >= 0)
		close(m->ssock);
	if (m->rsock >= 0)
		close(m->rsock);
}

/* ---- sending a round -------------------------------------------------- */

static int64_t copy_bitmap(struct slot *s)
{
	uint64_t w, bits, page;
	int64_t n = 0;

	for (w = 0; w < bitmap_words(s->npages); w++) {
		for (bits = s->bitmap[w]; bits; bits &= bits - 1) {
			page = w * 64 + __builtin_ctzll(bits);
			memcpy(s->dst + page * PAGE_SIZE,
			       s->src + page * PAGE_SIZE, PAGE_SIZE);
			n++;
		}
	}
	return n;
}

static int send_slot(struct ctx *x, struct slot *s, uint64_t *pages)
{
	int64_t n;

	if (x->o.no_svmig)
		n = copy_bitmap(s);
	else
		n = svmig_submit_bitmap(&x->mig.ring, s->id, s->bitmap,
					s->npages);
	if (n < 0) {
		err_msg("slot %u: SVMIG_IOC_SUBMIT: %s", s->id,
			strerror((int)-n));
		return (int)n;
	}
	*pages = n;
	x->pages_sent += n;
	return 0;
}

static int send_round(struct ctx *x, struct round *r)
{
	double t = now_s();
	int i, ret;

	for (i = 0; i < NSLOTS; i++) {
		ret = send_slot(x, &x->vm.slot[i], &r->pages[i]);
		if (ret)
			return ret;
	}
	r->send_s = now_s() - t;
	return 0;
}

static int harvest(struct ctx *x, unsigned int n)
{
	struct round *r = &x->round[n];
	int i, ret;

	for (i = 0; i < NSLOTS; i++) {
		ret = get_dirty_log(&x->vm, &x->vm.slot[i]);
		if (ret)
			return ret;
	}
	r->sim_ok = sim_check_round(x, n, x->o.exits);
	return 0;
}

/* Round 0: everything, while the vCPU runs its first grant. */
static int round_full(struct ctx *x)
{
	struct round *r = &x->round[0];
	int i, ret;

	for (i = 0; i < NSLOTS; i++)
		bitmap_fill(x->vm.slot[i].bitmap, x->vm.slot[i].npages);
	r->sim_ok = true;
	vcpu_grant(&x->vm, x->o.exits);
	ret = send_round(x, r);
	if (!ret)
		x->nround = 1;
	return ret;
}

static int round_dirty(struct ctx *x, unsigned int n, bool final)
{
	struct round *r = &x->round[n];
	int ret;

	ret = vcpu_wait_parked(&x->vm);
	if (ret)
		return ret;
	ret = harvest(x, n);
	if (ret)
		return ret;
	if (!final)
		vcpu_grant(&x->vm, x->o.exits);
	ret = send_round(x, r);
	if (!ret)
		x->nround = n + 1;
	return ret;
}

static int finish(struct ctx *x)
{
	struct mig *m = &x->mig;
	int ret;

	if (x->o.no_svmig)
		return 0;
	ret = svmig_finish(m->sfd);
	if (ret)
		return err_ret("SVMIG_IOC_FINISH", ret);
	ret = receiver_join(m, false);
	if (ret)
		return ret;
	/* A refused stream is a test failure, reported with the stats. */
	if (m->recv_ret)
		m->verify_ret = err_ret("receiver: SVMIG_IOC_RECV", m->recv_ret);
	else
		m->verify_ret = svmig_verify(m->rfd);
	return 0;
}

static int migrate(struct ctx *x)
{
	unsigned int n, last = x->o.rounds + 1;
	double t0 = now_s(), t_stop;
	int ret;

	ret = round_full(x);
	for (n = 1; !ret && n < last; n++)
		ret = round_dirty(x, n, false);
	/* Final round: the vCPU stays parked outside KVM_RUN for good. */
	if (!ret)
		ret = vcpu_wait_parked(&x->vm);
	t_stop = now_s();
	if (!ret)
		ret = round_dirty(x, last, true);
	if (!ret)
		ret = finish(x);
	if (ret)
		return ret;
	x->total_s = now_s() - t0;
	x->downtime_s = now_s() - t_stop;
	return 0;
}

/* ---- results ---------------------------------------------------------- */

struct result {
	bool ok;
	bool skip;
	const char *name;
};

static bool every_round_dirtied(const struct ctx *x)
{
	unsigned int n;

	for (n = 1; n < x->nround; n++)
		if (!x->round[n].pages[DATA_SLOT] ||
		    !x->round[n].pages[CODE_SLOT])
			return false;
	return x->nround == x->o.rounds + 2;
}

/*
 * No page the guest wrote may be missing from a dirty log; pages reported
 * without a write are tolerated, at most one per round on average.
 */
static bool every_round_replayed(const struct ctx *x)
{
	unsigned int n;

	if (x->extra > x->nround)
		return false;
	for (n = 0; n < x->nround; n++)
		if (!x->round[n].sim_ok)
			return false;
	return x->nround == x->o.rounds + 2;
}

/* The guest really ran the program: memory, heartbeat and LCG state. */
static bool guest_matches_replay(const struct ctx *x)
{
	const struct slot *code = &x->vm.slot[CODE_SLOT];
	const struct slot *data = &x->vm.slot[DATA_SLOT];
	uint32_t beat;

	memcpy(&beat, code->src + HEARTBEAT_GPA, sizeof(beat));
	return beat == x->vm.ctl.exits &&
	       x->regs.rip == GUEST_ENTRY + GUEST_RESUME &&
	       (uint32_t)x->regs.rbp == x->sim.state &&
	       !memcmp(data->src, x->sim.mem, data->size);
}

static bool dst_equals_src(const struct ctx *x)
{
	int i;

	for (i = 0; i < NSLOTS; i++) {
		const struct slot *s = &x->vm.slot[i];

		if (memcmp(s->dst, s->src, s->size))
			return false;
	}
	return true;
}

static bool no_errors(const struct svmig_stats *s)
{
	return !s->auth_failures && !s->replays && !s->proto_errors &&
	       !s->bad_entries;
}

static void evaluate(const struct ctx *x, struct result *t)
{
	const struct mig *m = &x->mig;
	bool skip = x->o.no_svmig;

	t[0] = (struct result){ every_round_dirtied(x), false,
		"kvm guest dirtied pages in every round" };
	t[1] = (struct result){ every_round_replayed(x), false,
		"dirty log of every round holds every page the guest wrote" };
	t[2] = (struct result){ guest_matches_replay(x), false,
		"guest memory and registers equal the replayed guest" };
	t[3] = (struct result){ !skip && !m->verify_ret &&
		m->rst.verdict == SVMIG_VERDICT_VERIFIED, skip,
		"receiver manifest verified" };
	t[4] = (struct result){ dst_equals_src(x), false,
		"destination memory equals source" };
	t[5] = (struct result){ !skip && no_errors(&m->sst) &&
		no_errors(&m->rst), skip,
		"no auth failures/replays/protocol errors" };
	t[6] = (struct result){ !skip && m->sst.pages == x->pages_sent &&
		m->rst.pages + m->rst.stale_pages == x->pages_sent, skip,
		"every submitted page sealed and accepted" };
}

static int print_tap(const struct result *t)
{
	int i, fails = 0;

	for (i = 0; i < NTESTS; i++) {
		if (t[i].skip)
			printf("ok %d - %s # SKIP --no-svmig\n", i + 1,
			       t[i].name);
		else
			printf("%sok %d - %s\n", t[i].ok ? "" : "not ",
			       i + 1, t[i].name);
		fails += !t[i].skip && !t[i].ok;
	}
	return fails;
}

static int print_checks(const struct result *t)
{
	int i, fails = 0;

	say("checks:");
	for (i = 0; i < NTESTS; i++) {
		say("  [%s] %s", t[i].skip ? "skip" : t[i].ok ? " ok " : "FAIL",
		    t[i].name);
		fails += !t[i].skip && !t[i].ok;
	}
	return fails;
}

static const char *round_kind(const struct ctx *x, unsigned int n)
{
	if (n == 0)
		return "full";
	return n == x->o.rounds + 1 ? "final" : "live";
}

static void print_rounds(const struct ctx *x)
{
	unsigned int n;

	say("round  kind   code pages  data pages     MiB   send ms    MiB/s");
	for (n = 0; n < x->nround; n++) {
		const struct round *r = &x->round[n];
		uint64_t bytes = (r->pages[0] + r->pages[1]) * PAGE_SIZE;

		say("%5u  %-5s  %10" PRIu64 "  %10" PRIu64 "  %6.1f  %8.1f  %7.1f",
		    n, round_kind(x, n), r->pages[0], r->pages[1], mib(bytes),
		    r->send_s * 1e3, rate(bytes, r->send_s));
	}
}

static const char *verdict_name(uint32_t v)
{
	static const char *const names[] = {
		"pending", "verified", "MISMATCH", "FAILED",
	};

	return v < 4 ? names[v] : "unknown";
}

static void print_stats(const char *who, const struct svmig_stats *s)
{
	say("%s: aead_driver=%.*s records=%llu pages=%llu wire_bytes=%llu",
	    who, (int)sizeof(s->aead_driver), s->aead_driver,
	    (unsigned long long)s->records, (unsigned long long)s->pages,
	    (unsigned long long)s->bytes);
	say("%s: auth_failures=%llu replays=%llu proto_errors=%llu bad_entries=%llu stale_pages=%llu",
	    who, (unsigned long long)s->auth_failures,
	    (unsigned long long)s->replays,
	    (unsigned long long)s->proto_errors,
	    (unsigned long long)s->bad_entries,
	    (unsigned long long)s->stale_pages);
	say("%s: verdict=%s manifest_pages=%llu epoch=%u tpm_salt=%s",
	    who, s->role == SVMIG_ROLE_SENDER ? "-" : verdict_name(s->verdict),
	    (unsigned long long)s->manifest_pages, s->epoch,
	    s->flags & SVMIG_STAT_TPM_SALT ? "yes" : "no");
}

static void print_summary(const struct ctx *x)
{
	uint64_t bytes = x->pages_sent * PAGE_SIZE;
	double send_s = 0;
	unsigned int n;

	for (n = 0; n < x->nround; n++)
		send_s += x->round[n].send_s;
	say("mode: %s", x->o.no_svmig ? "plain memcpy (--no-svmig)" :
	    "/dev/svmig page mode over TCP on 127.0.0.1");
	print_rounds(x);
	say("total: %u rounds, %" PRIu64 " pages, %.1f MiB in %.3f s wall (%.1f MiB/s); "
	    "%.3f s sending (%.1f MiB/s); downtime %.1f ms",
	    x->nround, x->pages_sent, mib(bytes), x->total_s,
	    rate(bytes, x->total_s), send_s, rate(bytes, send_s),
	    x->downtime_s * 1e3);
	say("timings measured %s", x->where);
	say("guest: %" PRIu64 " exits, %" PRIu64 " stores; dirty log vs replay: "
	    "%" PRIu64 " pages missing, %" PRIu64 " extra",
	    x->vm.ctl.exits, x->vm.ctl.exits * x->o.stores, x->missing,
	    x->extra);
	print_regs(&x->regs, &x->sregs);
	if (!x->o.no_svmig) {
		print_stats("sender", &x->mig.sst);
		print_stats("receiver", &x->mig.rst);
		say("receiver: SVMIG_IOC_RECV %s after %u records, "
		    "SVMIG_IOC_VERIFY: %s",
		    x->mig.recv_ret ? strerror(-x->mig.recv_ret) : "done",
		    x->mig.recv_records, x->mig.recv_ret ? "not called" :
		    x->mig.verify_ret ? strerror(-x->mig.verify_ret) : "ok");
	}
	say("result: mode=%s pages=%" PRIu64 " bytes=%" PRIu64
	    " wall_s=%.6f send_s=%.6f downtime_s=%.6f",
	    x->o.no_svmig ? "memcpy" : "svmig", x->pages_sent, bytes,
	    x->total_s, send_s, x->downtime_s);
}

static void print_intro(const struct ctx *x)
{
	const struct opts *o = &x->o;

	say("svmig-vmm: live migration of a KVM guest's memory%s",
	    o->no_svmig ? " (plain memcpy baseline, no /dev/svmig)" :
	    " through /dev/svmig");
	say("guest: 1 vCPU, 32-bit protected mode, slot 0: %" PRIu64
	    " KiB code at gpa %#" PRIx64 ", slot 1: %u MiB data at gpa %#" PRIx64,
	    CODE_SIZE / 1024, (uint64_t)CODE_GPA, o->mem_mib,
	    (uint64_t)DATA_GPA);
	say("guest program: LCG (seed %u) storing into random data pages, "
	    "%u stores per OUT exit, %u exits per round", o->seed, o->stores,
	    o->exits);
	if (o->rounds)
		say("rounds: 0 sends every page; 1..%u send the KVM dirty log "
		    "while the vCPU runs; %u sends the last dirty log with the "
		    "vCPU stopped", o->rounds, o->rounds + 1);
	else
		say("rounds: 0 sends every page; 1 sends the KVM dirty log with "
		    "the vCPU stopped");
	if (o->demo && !o->no_svmig)
		say("each page is sealed with AES-256-GCM in the kernel, sent "
		    "on a loopback TCP socket by the kernel, and opened by a "
		    "second /dev/svmig channel into a separate destination "
		    "copy; the receiver checks the sender's manifest");
}

static int report(struct ctx *x)
{
	struct result t[NTESTS];
	int fails;

	evaluate(x, t);
	print_summary(x);
	fails = x->o.tap ? print_tap(t) : print_checks(t);
	if (x->o.demo)
		say("%s: %s", fails ? "FAILED" : "PASSED",
		    fails ? "see the checks above" :
		    "the destination holds, byte for byte, the memory the "
		    "guest left behind, and every dirty log held every page "
		    "the guest wrote");
	return fails ? 1 : 0;
}

/* Say where the timings come from: QEMU TCG reports "TCGTCGTCGTCG". */
static const char *timing_label(void)
{
	unsigned int a, b, c, d;
	char sig[13];

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1U << 31)))
		return "on bare metal";
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	if (!strcmp(sig, "TCGTCGTCGTCG"))
		return "under TCG (emulated): compare ratios within one run, "
		       "not absolute numbers";
	return "in a virtual machine";
}

/* ---- main ------------------------------------------------------------- */

/* After a failed migration: what each channel that exists has seen. */
static void show_channels(struct mig *m)
{
	if (m->sfd >= 0 && !svmig_get_stats(m->sfd, &m->sst))
		print_stats("sender", &m->sst);
	if (m->rfd >= 0 && !svmig_get_stats(m->rfd, &m->rst))
		print_stats("receiver", &m->rst);
}

static int collect(struct ctx *x)
{
	struct mig *m = &x->mig;
	int ret;

	ret = vcpu_get_regs(&x->vm, &x->regs, &x->sregs);
	if (ret || x->o.no_svmig)
		return ret;
	ret = svmig_get_stats(m->sfd, &m->sst);
	if (ret)
		return err_ret("sender: SVMIG_IOC_GET_STATS", ret);
	ret = svmig_get_stats(m->rfd, &m->rst);
	if (ret)
		return err_ret("receiver: SVMIG_IOC_GET_STATS", ret);
	return 0;
}

static int setup(struct ctx *x)
{
	int ret;

	x->round = calloc(x->o.rounds + 2, sizeof(*x->round));
	if (!x->round)
		return err_msg("out of memory");
	ret = check_memory(&x->o);
	if (!ret)
		ret = vm_setup(&x->vm, &x->o);
	if (!ret)
		ret = sim_init(&x->sim, &x->o, &x->vm.slot[DATA_SLOT]);
	if (ret || x->o.no_svmig)
		return ret;
	ret = channels_open(x);
	if (!ret)
		ret = channels_connect(&x->mig);
	return ret ? ret : receiver_start(&x->mig);
}

static int run(struct ctx *x)
{
	int ret, ret2;

	ret = setup(x);
	if (ret)
		return ret;
	print_intro(x);
	ret = vcpu_start(&x->vm);
	if (!ret)
		ret = migrate(x);
	ret2 = vcpu_stop(&x->vm);
	if (!ret)
		ret = ret2;
	ret2 = receiver_join(&x->mig, ret != 0);
	if (!ret)
		ret = ret2;
	return ret ? ret : collect(x);
}

static void cleanup(struct ctx *x)
{
	mig_close(&x->mig);
	if (x->sim.mem)
		munmap(x->sim.mem, x->vm.slot[DATA_SLOT].size);
	vm_teardown(&x->vm);
	free(x->round);
}

int main(int argc, char **argv)
{
	static struct ctx x;
	int ret;

	ret = parse_opts(&x.o, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		err_sys("signal(SIGPIPE)");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutex_init(&x.vm.ctl.lock, NULL);
	pthread_cond_init(&x.vm.ctl.cond, NULL);
	mig_init(&x.mig);
	x.vm.kvm = x.vm.fd = x.vm.vcpu = -1;
	x.where = timing_label();
	if (x.o.tap)
		printf("1..%d\n", NTESTS);
	ret = run(&x);
	if (ret)
		show_channels(&x.mig);
	if (ret) {
		if (x.o.tap)
			printf("Bail out! migration failed: %s\n",
			       strerror(-ret));
		else
			say("FAILED: migration did not complete: %s",
			    strerror(-ret));
		ret = 1;
	} else {
		ret = report(&x);
	}
	cleanup(&x);
	return ret;
}
