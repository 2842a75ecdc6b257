#ifndef RPMSG_SOAK_CGPIOLINE_H
#define RPMSG_SOAK_CGPIOLINE_H
/* One GPIO line API over libgpiod v1 (Debian 12: 1.6) and v2 (Debian 13, Ubuntu 24.04, Yocto
   scarthgap: 2.x). Which one is compiled is decided at build time from the installed <gpiod.h>
   (v1 defines GPIOD_LINE_BULK_MAX_LINES, v2 does not). Values are logical: with active_low the
   library inverts them, so 1 always means "active" (relay energised). Functions that fail
   return NULL or -1 and leave errno set by libgpiod or the kernel (EBUSY: the line is held). */
#include <stddef.h>

/** 1 or 2: the libgpiod API this build uses. */
int soak_gpio_api(void);
/** The library's own version string, for example "1.6.3" or "2.1.3". */
const char *soak_gpio_version(void);

typedef struct soak_gpio_chip soak_gpio_chip;
typedef struct soak_gpio_request soak_gpio_request;

/** gpiod_chip_open(path). */
soak_gpio_chip *soak_gpio_chip_open(const char *path);
void soak_gpio_chip_close(soak_gpio_chip *chip);
/** The chip's kernel name (gpiochip0), label (30330000.gpio, relaychip) and line count. */
int soak_gpio_chip_describe(soak_gpio_chip *chip, char *name, size_t name_len, char *label, size_t label_len,
                            unsigned int *num_lines);
/** The offset of the line named `name` on this chip, or -1 (errno ENOENT when there is none). */
int soak_gpio_line_find(soak_gpio_chip *chip, const char *name);
/** What the kernel says of a line: its name, whether it is requested and by which consumer,
    and whether it is an output. Strings are empty when the kernel has none. */
int soak_gpio_line_describe(soak_gpio_chip *chip, unsigned int offset, char *name, size_t name_len,
                            char *consumer, size_t consumer_len, int *used, int *is_output);

/** Requests one line as an output driven to `value` at once, or (as_is != 0) without changing
    its direction or value, to read it. The request holds the line until released. */
soak_gpio_request *soak_gpio_request_line(soak_gpio_chip *chip, unsigned int offset, const char *consumer,
                                          int as_is, int active_low, int value);
/** Drives the requested line to `value` (0 or 1, logical). */
int soak_gpio_request_set(soak_gpio_request *req, int value);
/** The line's value (0 or 1, logical), or -1. */
int soak_gpio_request_get(soak_gpio_request *req);
/** Gives the line back to the kernel. */
void soak_gpio_request_release(soak_gpio_request *req);

/** The kernel file descriptor behind a request, or -1 when the library does not say (libgpiod
    v1 keeps it private: look for the process's anon_inode:gpio-linehandle instead). */
int soak_gpio_request_fd(soak_gpio_request *req);
/** Drives the first line of a kernel line request through the GPIO character device's own
    ioctl, without libgpiod: uapi 1 is a v1 line handle (libgpiod 1.x), 2 a v2 line request
    (libgpiod 2.x). Async-signal-safe; for a guard process that inherited the descriptor. */
int soak_gpio_fd_set(int fd, int uapi, int value);

#endif
