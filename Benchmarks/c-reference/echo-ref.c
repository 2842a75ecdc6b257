/*
 * echo-ref: the physical ceiling rpmsg-soak is measured against.
 *
 * Drives a tty echo device with fixed-size messages (64 bytes unless SIZE says), W of them in flight, checks every
 * echoed byte against what was sent, and prints messages/s, the round-trip p50 and the CPU
 * (user + system) spent per million messages. It does the least a verifying tester can do:
 * one poll loop, non-blocking reads and writes, a per-message sequence number and a byte
 * compare. No framing search, no CRC, no timeline.
 *
 *     echo-ref DEVICE WINDOW SECONDS [SIZE]
 *
 * SIZE (16...496, default 64) is the whole message, as a profile's `size` is rpmsg-soak's
 * whole frame (header and CRC included): both put the same bytes on the link per message.
 *
 * Message i: bytes 0..7 hold i (little endian), bytes 8..SIZE-1 are a function of i and the byte
 * position, so a reordered, duplicated, lost or damaged message is caught byte by byte. The
 * echo must come back in order (a tty echo does not reorder).
 *
 * Output (one line, key=value, for scripts):
 *     msgs=N seconds=S msgs_per_s=R p50_us=P cpu_s_per_M=C errors=E
 * Exit status 0 when every byte matched, 1 on a mismatch or a hang-up, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 496
static size_t MSG = 64;
#define MAX_WINDOW 256
/* Round trips in microseconds; the last bucket collects everything above. */
#define HIST_US 100000

static uint64_t hist[HIST_US + 1];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill(uint8_t *m, uint64_t seq) {
    memcpy(m, &seq, 8);
    for (size_t i = 8; i < MSG; i++) m[i] = (uint8_t)(seq * 31u + (uint64_t)i * 7u);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s DEVICE WINDOW SECONDS [SIZE]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int window = atoi(argv[2]);
    double seconds = atof(argv[3]);
    if (argc == 5) MSG = (size_t)atol(argv[4]);
    if (argc == 5 && (atol(argv[4]) < 16 || MSG > MAX_MSG)) { fprintf(stderr, "echo-ref: SIZE must be 16..%d\n", MAX_MSG); return 2; }
    if (window < 1 || window > MAX_WINDOW || !(seconds > 0)) {
        fprintf(stderr, "echo-ref: WINDOW must be 1..%d and SECONDS > 0\n", MAX_WINDOW);
        return 2;
    }

    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "echo-ref: %s: %s\n", path, strerror(errno)); return 1; }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) { fprintf(stderr, "echo-ref: %s: not a tty\n", path); return 1; }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &t) != 0) { perror("echo-ref: tcsetattr"); return 1; }
    tcflush(fd, TCIOFLUSH);

    uint64_t sent_at[MAX_WINDOW];  /* ring indexed by seq % window */
    uint8_t out[MAX_MSG], expect[MAX_MSG], in[MAX_MSG * MAX_WINDOW];
    uint64_t next_send = 0, next_recv = 0, errors = 0;
    size_t out_off = (size_t)MSG;  /* bytes of `out` already written; MSG: nothing pending */
    size_t in_len = 0;     /* bytes of the current echo collected in `in` */
    uint64_t count = 0;

    double cpu0 = cpu_seconds();
    uint64_t start = now_ns();
    uint64_t stop = start + (uint64_t)(seconds * 1e9);
    int sending = 1;

    for (;;) {
        uint64_t now = now_ns();
        if (sending && now >= stop) sending = 0;
        if (!sending && next_recv == next_send) break;
        if (!sending && now >= stop + 2000000000u) { fprintf(stderr, "echo-ref: echoes stopped\n"); errors++; break; }

        /* Send while the window has room. */
        while (sending && (out_off < MSG || next_send - next_recv < (uint64_t)window)) {
            if (out_off == MSG) { fill(out, next_send); out_off = 0; }
            ssize_t n = write(fd, out + out_off, MSG - out_off);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                perror("echo-ref: write"); return 1;
            }
            out_off += (size_t)n;
            if (out_off == MSG) sent_at[next_send % (uint64_t)window] = now_ns(), next_send++;
        }

        struct pollfd p = { .fd = fd, .events = POLLIN | (out_off < MSG ? POLLOUT : 0) };
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) { perror("echo-ref: poll"); return 1; }
        if (r <= 0) continue;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) { fprintf(stderr, "echo-ref: hang-up\n"); return 1; }
        if (!(p.revents & POLLIN)) continue;

        for (;;) {
            ssize_t n = read(fd, in + in_len, sizeof in - in_len);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                perror("echo-ref: read"); return 1;
            }
            if (n == 0) { fprintf(stderr, "echo-ref: end of file\n"); return 1; }
            uint64_t at = now_ns();
            in_len += (size_t)n;
            size_t off = 0;
            while (in_len - off >= MSG) {
                if (next_recv >= next_send) { errors++; break; }  /* an echo never sent */
                fill(expect, next_recv);
                if (memcmp(in + off, expect, MSG) != 0) errors++;
                uint64_t us = (at - sent_at[next_recv % (uint64_t)window]) / 1000u;
                hist[us < HIST_US ? us : HIST_US]++;
                next_recv++;
                count++;
                off += MSG;
            }
            memmove(in, in + off, in_len - off);
            in_len -= off;
        }
    }

    uint64_t end = now_ns();
    double cpu = cpu_seconds() - cpu0;
    double wall = (double)(end - start) / 1e9;
    uint64_t half = (count + 1) / 2, seen = 0, p50 = 0;
    for (uint64_t us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (seen >= half) { p50 = us; break; }
    }
    printf("msgs=%llu seconds=%.3f msgs_per_s=%.1f p50_us=%llu cpu_s_per_M=%.3f errors=%llu\n",
           (unsigned long long)count, wall, count / wall, (unsigned long long)p50,
           count ? cpu / ((double)count / 1e6) : 0.0, (unsigned long long)errors);
    close(fd);
    return errors ? 1 : 0;
}
