#define _GNU_SOURCE
#include "CPosix.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <poll.h>
#include <time.h>
#include <sys/prctl.h>
#include <signal.h>
#include <pthread.h>

int soak_tty_set_exclusive(int fd) { return ioctl(fd, TIOCEXCL); }
int soak_tty_clear_exclusive(int fd) { return ioctl(fd, TIOCNXCL); }
int soak_tty_is_exclusive(int fd) {
    int excl = 0;
    if (ioctl(fd, TIOCGEXCL, &excl) != 0) return -1;
    return excl ? 1 : 0;
}
int soak_tty_flags(int fd, unsigned int *iflag, unsigned int *oflag, unsigned int *lflag) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    *iflag = t.c_iflag; *oflag = t.c_oflag; *lflag = t.c_lflag;
    return 0;
}

static int make_raw(int fd, int flush) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    cfmakeraw(&t);
    t.c_cflag |= (CLOCAL | CREAD);
    t.c_cflag &= ~CRTSCTS;
    t.c_iflag &= ~(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &t) != 0) return -1;
    return flush ? tcflush(fd, TCIOFLUSH) : 0;
}

int soak_tty_make_raw(int fd) { return make_raw(fd, 1); }
int soak_tty_make_raw_keep_input(int fd) { return make_raw(fd, 0); }

int soak_tty_make_cooked(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    t.c_iflag = ICRNL | IXON;
    t.c_oflag = OPOST | ONLCR;
    t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN | ECHOCTL | ECHOKE;
    return tcsetattr(fd, TCSANOW, &t);
}

int soak_tty_columns(int fd) {
    struct winsize w;
    if (ioctl(fd, TIOCGWINSZ, &w) != 0) return -1;
    return w.ws_col;
}

static speed_t speed_for(unsigned int baud) {
    switch (baud) {
    case 1200: return B1200; case 2400: return B2400; case 4800: return B4800;
    case 9600: return B9600; case 19200: return B19200; case 38400: return B38400;
    case 57600: return B57600; case 115200: return B115200; case 230400: return B230400;
    case 460800: return B460800; case 500000: return B500000; case 576000: return B576000;
    case 921600: return B921600; case 1000000: return B1000000; case 1152000: return B1152000;
    case 1500000: return B1500000; case 2000000: return B2000000; case 2500000: return B2500000;
    case 3000000: return B3000000; case 3500000: return B3500000; case 4000000: return B4000000;
    default: return 0;
    }
}

int soak_tty_set_baud(int fd, unsigned int baud) {
    speed_t s = speed_for(baud);
    if (s == 0) { errno = EINVAL; return -1; }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    if (cfsetispeed(&t, s) != 0 || cfsetospeed(&t, s) != 0) return -1;
    return tcsetattr(fd, TCSANOW, &t);
}

int soak_pty_open(char *slave_path, size_t path_len) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, slave_path, path_len) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int soak_poll_ns(struct pollfd *fds, unsigned long nfds, uint64_t timeout_ns) {
    struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000u), .tv_nsec = (long)(timeout_ns % 1000000000u) };
    int r = ppoll(fds, (nfds_t)nfds, &ts, NULL);
    if (r < 0 && errno == EINTR) return 0;
    return r;
}

int soak_set_timer_slack_ns(unsigned long ns) { return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0); }

int soak_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

/* A write can sleep inside a tty driver whatever O_NONBLOCK says (the rpmsg bus waits up to
   15 s for a TX buffer, interruptibly). A signal whose handler does nothing and was installed
   without SA_RESTART makes such a call return EINTR, so the caller can look at the time. */
static void soak_interrupt_handler(int sig) { (void)sig; }

int soak_install_interrupt_signal(void) {
    static int installed = 0;
    int signo = SIGRTMIN + 4;
    if (!__atomic_exchange_n(&installed, 1, __ATOMIC_SEQ_CST)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = soak_interrupt_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART: the blocked call returns EINTR */
        if (sigaction(signo, &sa, NULL) != 0) {
            __atomic_store_n(&installed, 0, __ATOMIC_SEQ_CST);
            return -1;
        }
    }
    return signo;
}

int soak_unblock_interrupt_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 4);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int soak_interrupt_thread(unsigned long thread) {
    return pthread_kill((pthread_t)thread, SIGRTMIN + 4);
}

unsigned long soak_thread_self(void) { return (unsigned long)pthread_self(); }

/* `rpmsg-soak run`: SIGINT and SIGTERM are caught from the moment the program's own code first
 * runs (an ELF constructor, before the Swift runtime and main), not only once the profile is
 * read: a stop in the first milliseconds must still end in a run folder and exit 130. Other
 * commands (and the test bundles linking this file) keep the default actions. glibc passes argc
 * and argv to constructors. */
static volatile sig_atomic_t soak_early_signal = 0;
static void soak_early_handler(int sig) { soak_early_signal = sig; }
__attribute__((constructor)) static void soak_catch_early_stop(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 2 || argv == NULL || argv[0] == NULL || argv[1] == NULL || strcmp(argv[1], "run") != 0) return;
    /* Test bundles link this file too: they keep the default actions. */
    if (strstr(argv[0], "xctest") != NULL || strstr(argv[0], "PackageTests") != NULL) return;
    signal(SIGINT, soak_early_handler);
    signal(SIGTERM, soak_early_handler);
}
int soak_early_stop_signal(void) { return soak_early_signal; }
