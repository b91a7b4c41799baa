/*
 * guestbench: the benchmark program that runs inside the guest (built
 * static for riscv64) and natively on the host (the physical limit).
 *
 *   guestbench cpu [SCALE]          CPU and memory kernels
 *   guestbench disk DEV MIB OPS     sequential and random I/O on a block device
 *   guestbench send IP PORT MIB     TCP send throughput to IP:PORT
 *
 * Every result is one line "GB <name> <value> <unit> [<check>]" timed with
 * clock_gettime(CLOCK_MONOTONIC) inside the program; bench/bench.py parses
 * them. SCALE 1 is the full workload (CRC32 over 64 MiB, ...); a larger
 * SCALE divides the problem sizes (quick mode). Deterministic inputs (an
 * LCG), so the check values must be the same on every machine.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "guestbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("malloc");
    return p;
}

static uint64_t lcg_state = 0x2545F4914F6CDD1DULL;

static uint64_t lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lcg_state >> 16;
}

static void result(const char *name, double v, const char *unit, uint64_t check)
{
    printf("GB %s %.6f %s %016llx\n", name, v, unit, (unsigned long long)check);
    fflush(stdout);
}

/* --- integer ------------------------------------------------------------ */

static uint32_t crc_table[256];

static void bench_crc32(size_t mib)
{
    size_t n = mib << 20;
    uint8_t *buf = xmalloc(n);
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    uint64_t *w = (uint64_t *)buf;
    for (size_t i = 0; i < n / 8; i++)
        w[i] = lcg();
    double t0 = now();
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
    crc ^= 0xFFFFFFFFu;
    double t = now() - t0;
    char name[32];
    snprintf(name, sizeof name, "crc32-%zuMiB", mib);
    result(name, t, "s", crc);
    free(buf);
}

static void bench_sieve(size_t limit)
{
    uint8_t *composite = xmalloc(limit + 1);
    double t0 = now();
    memset(composite, 0, limit + 1);
    uint64_t count = 0;
    for (size_t i = 2; i <= limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (size_t j = i * i; j <= limit; j += i)
            composite[j] = 1;
    }
    double t = now() - t0;
    char name[32];
    snprintf(name, sizeof name, "sieve-%zuM", limit >> 20);
    result(name, t, "s", count);
    free(composite);
}

static void isort(uint32_t *a, long lo, long hi)
{
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* Quicksort, median of three, insertion sort below 16, smaller half first. */
static void qsort_u32(uint32_t *a, long lo, long hi)
{
    while (hi - lo > 16) {
        long mid = lo + (hi - lo) / 2;
        uint32_t x = a[lo], y = a[mid], z = a[hi];
        uint32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p)
                i++;
            while (a[j] > p)
                j--;
            if (i <= j) {
                uint32_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            qsort_u32(a, lo, j);
            lo = i;
        } else {
            qsort_u32(a, i, hi);
            hi = j;
        }
    }
    isort(a, lo, hi);
}

static void bench_sort(size_t n)
{
    uint32_t *a = xmalloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)lcg();
    double t0 = now();
    qsort_u32(a, 0, (long)n - 1);
    double t = now() - t0;
    uint64_t check = 0;
    for (size_t i = 1; i < n; i++) {
        if (a[i - 1] > a[i]) {
            fprintf(stderr, "guestbench: sort is wrong at %zu\n", i);
            exit(1);
        }
        check = check * 31 + a[i];
    }
    char name[32];
    snprintf(name, sizeof name, "sort-%zuK", n >> 10);
    result(name, t, "s", check);
    free(a);
}

/* --- memory ------------------------------------------------------------- */

/* A random cyclic permutation (Sattolo) of MIB MiB of 8-byte slots, then
 * STEPS dependent loads: reported as nanoseconds per load. */
static void bench_chase(size_t mib, size_t steps)
{
    size_t n = (mib << 20) / sizeof(uint64_t);
    uint64_t *next = xmalloc(n * sizeof *next);
    for (size_t i = 0; i < n; i++)
        next[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = lcg() % i;
        uint64_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    double t0 = now();
    uint64_t p = 0;
    for (size_t i = 0; i < steps; i++)
        p = next[p];
    double t = now() - t0;
    char name[32];
    snprintf(name, sizeof name, "chase-%zuMiB", mib);
    result(name, t * 1e9 / (double)steps, "ns/load", p);
    free(next);
}

/* --- floating point ----------------------------------------------------- */

static void bench_matmul(size_t n)
{
    double *a = xmalloc(n * n * sizeof(double));
    double *b = xmalloc(n * n * sizeof(double));
    double *c = xmalloc(n * n * sizeof(double));
    for (size_t i = 0; i < n * n; i++) {
        a[i] = (double)(lcg() % 1000) / 997.0;
        b[i] = (double)(lcg() % 1000) / 991.0;
        c[i] = 0.0;
    }
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (size_t j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
    double t = now() - t0;
    double sum = 0;
    for (size_t i = 0; i < n * n; i++)
        sum += c[i];
    char name[32];
    snprintf(name, sizeof name, "matmul-%zu", n);
    /* check: the sum rounded, since FMA contraction may differ per target */
    result(name, t, "s", (uint64_t)llround(sum));
    free(a);
    free(b);
    free(c);
}

struct body {
    double x, y, z, vx, vy, vz, m;
};

static void bench_nbody(size_t steps)
{
    const double pi = 3.141592653589793, days = 365.24, sm = 4 * pi * pi;
    struct body b[5] = {
        {0, 0, 0, 0, 0, 0, sm},
        {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * days, 7.69901118419740425e-03 * days,
         -6.90460016972063023e-05 * days, 9.54791938424326609e-04 * sm},
        {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * days, 4.99852801234917238e-03 * days,
         2.30417297573763929e-05 * days, 2.85885980666130812e-04 * sm},
        {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * days, 2.37847173959480950e-03 * days,
         -2.96589568540237556e-05 * days, 4.36624404335156298e-05 * sm},
        {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * days, 1.62824170038242295e-03 * days,
         -9.51592254519715870e-05 * days, 5.15138902046611451e-05 * sm},
    };
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < 5; i++) {
        px += b[i].vx * b[i].m;
        py += b[i].vy * b[i].m;
        pz += b[i].vz * b[i].m;
    }
    b[0].vx = -px / sm;
    b[0].vy = -py / sm;
    b[0].vz = -pz / sm;
    const double dt = 0.01;
    double t0 = now();
    for (size_t s = 0; s < steps; s++) {
        for (int i = 0; i < 5; i++)
            for (int j = i + 1; j < 5; j++) {
                double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                b[i].vx -= dx * b[j].m * mag;
                b[i].vy -= dy * b[j].m * mag;
                b[i].vz -= dz * b[j].m * mag;
                b[j].vx += dx * b[i].m * mag;
                b[j].vy += dy * b[i].m * mag;
                b[j].vz += dz * b[i].m * mag;
            }
        for (int i = 0; i < 5; i++) {
            b[i].x += dt * b[i].vx;
            b[i].y += dt * b[i].vy;
            b[i].z += dt * b[i].vz;
        }
    }
    double t = now() - t0;
    double e = 0;
    for (int i = 0; i < 5; i++) {
        e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < 5; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    char name[32];
    snprintf(name, sizeof name, "nbody-%zuK", steps / 1000);
    result(name, t, "s", (uint64_t)llround(e * -1e6));
}

static int cmd_cpu(int scale)
{
    double t0 = now();
    printf("GB-START cpu scale %d\n", scale);
    fflush(stdout);
    bench_crc32(64 / scale);
    bench_sieve((16u << 20) / scale);
    bench_sort((2u << 20) / scale);
    bench_chase(32 / scale, 4000000 / scale);
    bench_matmul(scale == 1 ? 256 : 128);
    bench_nbody(400000 / scale);
    result("total", now() - t0, "s", 0);
    printf("GB-END cpu\n");
    fflush(stdout);
    return 0;
}

/* --- disk --------------------------------------------------------------- */

static void xpwrite(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r = pwrite(fd, buf, n, off);
    if (r != (ssize_t)n)
        die("pwrite");
}

static void xpread(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r = pread(fd, buf, n, off);
    if (r != (ssize_t)n)
        die("pread");
}

static int cmd_disk(const char *dev, const char *tag, size_t mib, size_t ops)
{
    const size_t big = 1 << 20, small = 4096;
    int direct = 1;
    int fd = open(dev, O_RDWR | O_DIRECT);
    if (fd < 0) {
        direct = 0;
        fd = open(dev, O_RDWR | O_SYNC);
        if (fd < 0)
            die(dev);
    }
    void *buf;
    if (posix_memalign(&buf, 4096, big))
        die("posix_memalign");
    uint64_t *w = buf;
    for (size_t i = 0; i < big / 8; i++)
        w[i] = lcg();
    printf("GB-START disk %s %s %zu MiB %zu ops%s\n", tag, dev, mib, ops,
           direct ? " O_DIRECT" : " O_SYNC (no O_DIRECT)");
    fflush(stdout);
    char name[64];
    size_t size = mib << 20;
    double t0 = now();
    for (size_t off = 0; off < size; off += big)
        xpwrite(fd, buf, big, (off_t)off);
    if (fsync(fd))
        die("fsync");
    double t = now() - t0;
    snprintf(name, sizeof name, "disk-%s-seqwrite-1M", tag);
    result(name, (double)mib / t, "MiB/s", 0);

    t0 = now();
    for (size_t off = 0; off < size; off += big)
        xpread(fd, buf, big, (off_t)off);
    t = now() - t0;
    snprintf(name, sizeof name, "disk-%s-seqread-1M", tag);
    result(name, (double)mib / t, "MiB/s", 0);

    size_t blocks = size / small;
    t0 = now();
    for (size_t i = 0; i < ops; i++)
        xpwrite(fd, buf, small, (off_t)((lcg() % blocks) * small));
    if (fsync(fd))
        die("fsync");
    t = now() - t0;
    snprintf(name, sizeof name, "disk-%s-randwrite-4K", tag);
    result(name, (double)ops / t, "IOPS", 0);

    t0 = now();
    for (size_t i = 0; i < ops; i++)
        xpread(fd, buf, small, (off_t)((lcg() % blocks) * small));
    t = now() - t0;
    snprintf(name, sizeof name, "disk-%s-randread-4K", tag);
    result(name, (double)ops / t, "IOPS", 0);
    printf("GB-END disk %s\n", tag);
    fflush(stdout);
    close(fd);
    free(buf);
    return 0;
}

/* --- network ------------------------------------------------------------ */

static int cmd_send(const char *ip, int port, size_t mib)
{
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)lcg();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "guestbench: bad address %s\n", ip);
        return 1;
    }
    int tries = 0;
    while (connect(s, (struct sockaddr *)&sa, sizeof sa)) {
        if (++tries > 20)
            die("connect");
        sleep(1);
    }
    printf("GB-START send %zu MiB to %s:%d\n", mib, ip, port);
    fflush(stdout);
    double t0 = now();
    size_t total = mib << 20;
    for (size_t done = 0; done < total;) {
        size_t n = total - done < sizeof buf ? total - done : sizeof buf;
        ssize_t r = write(s, buf, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("write");
        }
        done += (size_t)r;
    }
    shutdown(s, SHUT_WR);
    /* The host answers with its byte count and closes: the data arrived. */
    char ack[64];
    ssize_t r = read(s, ack, sizeof ack - 1);
    double t = now() - t0;
    ack[r > 0 ? r : 0] = 0;
    result("net-send", (double)mib / t, "MiB/s", strtoull(ack, NULL, 10));
    printf("GB-END send\n");
    fflush(stdout);
    close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "cpu"))
        return cmd_cpu(argc >= 3 ? atoi(argv[2]) > 0 ? atoi(argv[2]) : 1 : 1);
    if (argc == 6 && !strcmp(argv[1], "disk"))
        return cmd_disk(argv[2], argv[3], strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "send"))
        return cmd_send(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 10));
    fprintf(stderr,
            "usage: guestbench cpu [SCALE]\n"
            "       guestbench disk DEV TAG MIB OPS\n"
            "       guestbench send IP PORT MIB\n");
    return 2;
}
