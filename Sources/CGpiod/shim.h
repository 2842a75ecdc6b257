#include <gpiod.h>
/* libgpiod v1 (Debian 12) defines GPIOD_LINE_BULK_MAX_LINES; v2 does not. */
#ifdef GPIOD_LINE_BULK_MAX_LINES
#define RPMSG_SOAK_GPIOD_API 1
#else
#define RPMSG_SOAK_GPIOD_API 2
#endif
static const int rpmsg_soak_gpiod_api = RPMSG_SOAK_GPIOD_API;

static inline const char *rpmsg_soak_gpiod_version(void) {
#if RPMSG_SOAK_GPIOD_API == 1
    return gpiod_version_string();
#else
    return gpiod_api_version();
#endif
}
