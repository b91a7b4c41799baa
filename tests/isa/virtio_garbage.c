/* SPDX-License-Identifier: MIT */
/* A hostile virtio driver: programs the virtio-blk (slot 0, run with --disk)
 * and virtio-rng (slot 1) queues with garbage — descriptor loops, addresses
 * outside RAM, indexes beyond the queue size, huge lengths, an avail index
 * running ahead, bad indirect tables, bad queue setups — and checks that each
 * puts the device in DEVICE_NEEDS_RESET (virtio 1.2, 2.1.2), that maquina
 * keeps running, and that after a reset the device serves a good request
 * again. The emulator runs this under ASan/UBSan in the sanitizer build. */
#include "test.h"

typedef uint16_t u16;
typedef uint8_t u8;

#define VIRTIO_BASE 0x10001000UL
#define REG(slot, off) (VIRTIO_BASE + 0x1000UL * (slot) + (off))

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

#define QSIZE 8
#define RAM_END (0x80000000UL + (512UL << 20)) /* the test runs with -m 512M */

struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct avail {
	u16 flags;
	u16 idx;
	u16 ring[QSIZE];
	u16 used_event;
};

struct used_elem {
	u32 id;
	u32 len;
};

struct used {
	u16 flags;
	u16 idx;
	struct used_elem ring[QSIZE];
	u16 avail_event;
};

static struct desc descs[QSIZE] __attribute__((aligned(16)));
static struct desc itable[4] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(4)));
static struct used used __attribute__((aligned(8)));
static u8 buf[4096] __attribute__((aligned(64)));
static u8 hdr[16] __attribute__((aligned(16)));
static u8 status_byte;

static u64 mtime(void) { return mmio_read64(CLINT_MTIME); }

static void set_addr(unsigned slot, u32 reg, u64 addr)
{
	mmio_write32(REG(slot, reg), (u32)addr);
	mmio_write32(REG(slot, reg + 4), (u32)(addr >> 32));
}

/* Linux's init sequence (virtio 1.2, 3.1.1), VERSION_1 only. */
static int setup(unsigned slot, u32 qsize, u64 desc_addr)
{
	u32 st;

	mmio_write32(REG(slot, R_STATUS), 0);
	while (mmio_read32(REG(slot, R_STATUS)) != 0)
		;
	memset(descs, 0, sizeof(descs));
	memset(&avail, 0, sizeof(avail));
	memset(&used, 0, sizeof(used));
	mmio_write32(REG(slot, R_STATUS), S_ACK);
	mmio_write32(REG(slot, R_STATUS), S_ACK | S_DRIVER);
	mmio_write32(REG(slot, R_DRIVER_FEATURES_SEL), 1);
	mmio_write32(REG(slot, R_DRIVER_FEATURES), 1); /* bit 32: VERSION_1 */
	mmio_write32(REG(slot, R_DRIVER_FEATURES_SEL), 0);
	mmio_write32(REG(slot, R_DRIVER_FEATURES), 0);
	mmio_write32(REG(slot, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
	st = mmio_read32(REG(slot, R_STATUS));
	if (!(st & S_FEATURES_OK))
		return 0;
	mmio_write32(REG(slot, R_QUEUE_SEL), 0);
	if (mmio_read32(REG(slot, R_QUEUE_NUM_MAX)) < QSIZE)
		return 0;
	mmio_write32(REG(slot, R_QUEUE_NUM), qsize);
	set_addr(slot, R_QUEUE_DESC, desc_addr);
	set_addr(slot, R_QUEUE_DRIVER, (u64)&avail);
	set_addr(slot, R_QUEUE_DEVICE, (u64)&used);
	mmio_write32(REG(slot, R_QUEUE_READY), 1);
	mmio_write32(REG(slot, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return 1;
}

/* Offer head as the next request and notify; wait (1 s) for used or an error. */
static u32 submit(unsigned slot, u16 head, u16 idx_bump)
{
	u64 deadline;
	u16 old_used = used.idx;

	avail.ring[avail.idx % QSIZE] = head;
	asm volatile("fence rw, rw" ::: "memory");
	avail.idx += idx_bump;
	asm volatile("fence rw, rw" ::: "memory");
	mmio_write32(REG(slot, R_QUEUE_NOTIFY), 0);
	deadline = mtime() + 10000000;
	while (mtime() < deadline) {
		u32 st = mmio_read32(REG(slot, R_STATUS));
		asm volatile("fence rw, rw" ::: "memory");
		if ((st & S_NEEDS_RESET) || used.idx != old_used)
			return st;
	}
	return mmio_read32(REG(slot, R_STATUS));
}

/* A well-formed request on this device; its head is descriptor 0. */
static void good_request(unsigned slot, u32 device_id)
{
	if (device_id == 2) { /* virtio-blk: read sector 0 */
		memset(hdr, 0, sizeof(hdr));
		status_byte = 0xff;
		descs[0] = (struct desc){(u64)hdr, 16, F_NEXT, 1};
		descs[1] = (struct desc){(u64)buf, 512, F_NEXT | F_WRITE, 2};
		descs[2] = (struct desc){(u64)&status_byte, 1, F_WRITE, 0};
	} else { /* virtio-rng */
		descs[0] = (struct desc){(u64)buf, 64, F_WRITE, 0};
	}
}

static void check_good(const char *name, unsigned slot, u32 device_id)
{
	u32 st;

	if (!setup(slot, QSIZE, (u64)descs)) {
		tap_result(name, 0, "setup failed");
		return;
	}
	good_request(slot, device_id);
	st = submit(slot, 0, 1);
	tap_result(name, !(st & S_NEEDS_RESET) && used.idx == 1 &&
	                     (device_id != 2 || status_byte == 0),
	           "a good request is served");
}

static void check_needs_reset(const char *name, unsigned slot, u32 st)
{
	tap_result(name, (st & S_NEEDS_RESET) != 0, "device must enter DEVICE_NEEDS_RESET");
	/* The configuration-change interrupt tells the driver; acknowledge it. */
	mmio_write32(REG(slot, R_INTERRUPT_ACK), mmio_read32(REG(slot, R_INTERRUPT_STATUS)));
}

static void garbage_cases(unsigned slot, u32 id)
{
	static char names[16][48];
	static const char *what[] = {
		"descriptor loop", "address outside RAM", "head beyond queue size",
		"huge length", "avail idx runs ahead", "indirect not negotiated",
		"next beyond queue size", "length wraps the address space",
	};
	u32 st;

	for (unsigned c = 0; c < ARRAY_SIZE(what); c++) {
		char *n = names[c];
		const char *dev = id == 2 ? "blk: " : "rng: ";
		unsigned k = 0;
		for (const char *p = dev; *p; p++)
			n[k++] = *p;
		for (const char *p = what[c]; *p && k < 47; p++)
			n[k++] = *p;
		n[k] = 0;
		if (!setup(slot, QSIZE, (u64)descs)) {
			tap_result(n, 0, "setup failed");
			continue;
		}
		good_request(slot, id);
		u16 head = 0, bump = 1;
		switch (c) {
		case 0: /* a descriptor that chains to itself */
			descs[id == 2 ? 1 : 0].flags |= F_NEXT;
			descs[id == 2 ? 1 : 0].next = id == 2 ? 1 : 0;
			break;
		case 1: descs[id == 2 ? 1 : 0].addr = 0x200000000000UL; break;
		case 2: head = 200; break;
		case 3:
			descs[id == 2 ? 1 : 0].addr = RAM_END - 4096;
			descs[id == 2 ? 1 : 0].len = 0xfffffff0u;
			break;
		case 4: bump = 100; break;
		case 5:
			descs[0] = (struct desc){(u64)itable, 17, F_INDIRECT, 0};
			break;
		case 6:
			descs[0].flags |= F_NEXT;
			descs[0].next = 50;
			break;
		default:
			descs[id == 2 ? 1 : 0].addr = ~0UL - 8;
			break;
		}
		st = submit(slot, head, bump);
		check_needs_reset(n, slot, st);
	}
}

static void queue_setup_cases(unsigned slot, const char *dev)
{
	u32 st;

	/* A descriptor table outside RAM: rejected when the queue is enabled or used. */
	setup(slot, QSIZE, 0x300000000000UL);
	avail.ring[0] = 0;
	st = submit(slot, 0, 1);
	tap_result(dev[0] == 'b' ? "blk: descriptor table outside RAM"
	                         : "rng: descriptor table outside RAM",
	           (st & S_NEEDS_RESET) != 0, "device must enter DEVICE_NEEDS_RESET");
	/* A queue size that is not a power of two. */
	setup(slot, 6, (u64)descs);
	st = submit(slot, 0, 1);
	tap_result(dev[0] == 'b' ? "blk: queue size 6" : "rng: queue size 6",
	           (st & S_NEEDS_RESET) != 0 || used.idx == 0,
	           "device refuses the queue");
}

int main(void);
int main(void)
{
	for (unsigned slot = 0; slot < 2; slot++) {
		u32 id = mmio_read32(REG(slot, R_DEVICE_ID));
		const char *dev = slot == 0 ? "blk" : "rng";

		check(slot == 0 ? "slot 0 is virtio-blk" : "slot 1 is virtio-rng", id,
		      slot == 0 ? 2 : 4);
		if (mmio_read32(REG(slot, R_MAGIC)) != 0x74726976 ||
		    mmio_read32(REG(slot, R_VERSION)) != 2)
			continue;
		check_good(slot == 0 ? "blk: good request before" : "rng: good request before",
		           slot, id);
		garbage_cases(slot, id);
		queue_setup_cases(slot, dev);
		check_good(slot == 0 ? "blk: good request after reset"
		                     : "rng: good request after reset",
		           slot, id);
	}
	/* The other slots are empty: device id 0. */
	check("slot 7 is empty", mmio_read32(REG(7, R_DEVICE_ID)), 0);
	return 0;
}
