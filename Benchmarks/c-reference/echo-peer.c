/*
 * echo-peer: a tty echo device that is never the bottleneck of a benchmark.
 *
 * Opens a pty pair (posix_openpt), sets the slave raw (no echo, no line discipline work, no
 * CR/LF translation, no flow control), links LINK to the slave (like socat's `link=`) and
 * echoes everything that arrives on the master back to it: one process, one poll loop, reads
 * of up to 64 KiB, every byte written back in order before more is read. socat
 * `pty,raw,echo=0 ... exec:cat` moves each chunk through a pipe and a second process (four
 * copies and two wake-ups per chunk instead of two copies and one), which at 496-byte
 * messages is what a tester measured against it would see.
 *
 *     echo-peer LINK            (runs until SIGINT/SIGTERM; removes LINK on exit)
 *
 * Prints "ready SLAVE_PATH" on stdout once LINK exists. The peer keeps a slave descriptor
 * open itself, so the pty survives the tester closing and reopening it between runs and
 * the slave's raw settings stay as set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s LINK\n", argv[0]); return 2; }
    const char *link_path = argv[1];

    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) { perror("echo-peer: posix_openpt"); return 1; }
    const char *slave_path = ptsname(master);
    if (!slave_path) { perror("echo-peer: ptsname"); return 1; }
    int slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) { perror("echo-peer: open slave"); return 1; }
    struct termios t;
    if (tcgetattr(slave, &t) != 0) { perror("echo-peer: tcgetattr"); return 1; }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(slave, TCSANOW, &t) != 0) { perror("echo-peer: tcsetattr"); return 1; }
    int fl = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, fl | O_NONBLOCK);

    unlink(link_path);
    if (symlink(slave_path, link_path) != 0) { perror("echo-peer: symlink"); return 1; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;  /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("ready %s\n", slave_path);
    fflush(stdout);

    static unsigned char buf[1 << 16];
    size_t have = 0, done = 0;  /* bytes in buf, and how many of them are written back */
    int status = 0;
    while (!stop) {
        struct pollfd p = { .fd = master, .events = have > done ? POLLOUT : POLLIN };
        int r = poll(&p, 1, 500);
        if (r < 0) { if (errno == EINTR) continue; perror("echo-peer: poll"); status = 1; break; }
        if (r == 0) continue;
        /* POLLHUP: no slave open but ours never happens; the tester closing is not a hang-up. */
        if (p.revents & (POLLERR | POLLNVAL)) { fprintf(stderr, "echo-peer: poll error\n"); status = 1; break; }
        if (have == done) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EIO) continue;
                perror("echo-peer: read"); status = 1; break;
            }
            have = (size_t)n;
            done = 0;
        }
        while (done < have) {
            ssize_t n = write(master, buf + done, have - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                perror("echo-peer: write"); status = 1; stop = 1; break;
            }
            done += (size_t)n;
        }
        if (done == have) have = done = 0;
    }
    unlink(link_path);
    close(slave);
    close(master);
    return status;
}
