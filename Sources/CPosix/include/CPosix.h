#ifndef RPMSG_SOAK_CPOSIX_H
#define RPMSG_SOAK_CPOSIX_H
/* Small C shims for calls Swift cannot make directly (variadic ioctl) or that
   Glibc's Swift module hides behind feature macros (posix_openpt and friends). */
#include <stddef.h>
#include <stdint.h>
#include <poll.h>

/** ioctl(fd, TIOCEXCL): no further open() of this tty succeeds (but for root). */
int soak_tty_set_exclusive(int fd);
/** ioctl(fd, TIOCGEXCL): 1 when the tty is in exclusive mode, 0 when not, -1 on error. */
int soak_tty_is_exclusive(int fd);
/// A SIGINT or SIGTERM caught by `rpmsg-soak run` before its own handlers were installed (0: none).
int soak_early_stop_signal(void);
/** The termios flags that raw mode must clear, as one bitmask each; for tests. */
int soak_tty_flags(int fd, unsigned int *iflag, unsigned int *oflag, unsigned int *lflag);
/** ioctl(fd, TIOCNXCL). */
int soak_tty_clear_exclusive(int fd);
/** cfmakeraw + no flow control + CLOCAL|CREAD + VMIN=1/VTIME=0, applied with TCSANOW, then TCIOFLUSH. */
int soak_tty_make_raw(int fd);
/** As soak_tty_make_raw but keeps what is already in the input queue (a UART's boot banner). */
int soak_tty_make_raw_keep_input(int fd);
/** Sets input and output speed (a plain number of baud: 9600, 115200, ...); -1 and EINVAL if unsupported. */
int soak_tty_set_baud(int fd, unsigned int baud);
/** posix_openpt(O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC), grantpt, unlockpt, ptsname_r. Returns the master fd or -1. */
int soak_pty_open(char *slave_path, size_t path_len);
/** Gives the pty slave the kernel's default (cooked) termios, as a freshly probed tty driver has. */
int soak_tty_make_cooked(int fd);
/** ioctl(fd, TIOCGWINSZ): the terminal's width in columns; 0 when unknown, -1 when fd is not a terminal. */
int soak_tty_columns(int fd);

/** pipe2(fds, O_CLOEXEC): close-on-exec from the start, so no concurrent spawn inherits it. */
int soak_pipe_cloexec(int fds[2]);

/** prctl(PR_SET_TIMERSLACK): how late the kernel may wake this thread to batch timers (default 50 us). */
int soak_set_timer_slack_ns(unsigned long ns);
/** ppoll(2) with a timeout in nanoseconds (poll(2) only has milliseconds); EINTR returns 0. */
int soak_poll_ns(struct pollfd *fds, unsigned long nfds, uint64_t timeout_ns);

/** Installs (once) a no-op handler, without SA_RESTART, for the signal that cuts a system call
    short (a real-time signal, SIGRTMIN+4); returns its number. */
int soak_install_interrupt_signal(void);
/** Unblocks the interrupt signal in the calling thread (a parent may have started us with
    signals blocked, and the mask is inherited across exec and by new threads). */
int soak_unblock_interrupt_signal(void);
/** pthread_kill(thread, the interrupt signal): a blocking call on that thread returns EINTR. */
int soak_interrupt_thread(unsigned long thread);
/** pthread_self(), as a number. */
unsigned long soak_thread_self(void);

#endif
