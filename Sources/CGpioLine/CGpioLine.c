#include "CGpioLine.h"

#include <errno.h>
#include <gpiod.h>
#include <linux/gpio.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>

#ifdef GPIOD_LINE_BULK_MAX_LINES
#define SOAK_GPIOD_API 1
#else
#define SOAK_GPIOD_API 2
#endif

static void copy_out(char *dst, size_t len, const char *src) {
    if (!dst || len == 0) return;
    if (!src) src = "";
    strncpy(dst, src, len - 1);
    dst[len - 1] = '\0';
}

int soak_gpio_api(void) { return SOAK_GPIOD_API; }

struct soak_gpio_chip { struct gpiod_chip *chip; };

int soak_gpio_fd_set(int fd, int uapi, int value) {
    if (uapi == 2) {
        struct gpio_v2_line_values values;
        memset(&values, 0, sizeof values);
        values.mask = 1;
        values.bits = value ? 1 : 0;
        return ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &values);
    }
    struct gpiohandle_data data;
    memset(&data, 0, sizeof data);
    data.values[0] = value ? 1 : 0;
    return ioctl(fd, GPIOHANDLE_SET_LINE_VALUES_IOCTL, &data);
}

soak_gpio_chip *soak_gpio_chip_open(const char *path) {
    struct gpiod_chip *c = gpiod_chip_open(path);
    if (!c) return NULL;
    soak_gpio_chip *chip = calloc(1, sizeof *chip);
    if (!chip) { gpiod_chip_close(c); errno = ENOMEM; return NULL; }
    chip->chip = c;
    return chip;
}

void soak_gpio_chip_close(soak_gpio_chip *chip) {
    if (!chip) return;
    gpiod_chip_close(chip->chip);
    free(chip);
}

#if SOAK_GPIOD_API == 1
/* ---- libgpiod v1: lines are objects owned by the chip; a request is a line with a handle. ---- */

const char *soak_gpio_version(void) { return gpiod_version_string(); }

struct soak_gpio_request { struct gpiod_line *line; };

int soak_gpio_chip_describe(soak_gpio_chip *chip, char *name, size_t name_len, char *label, size_t label_len,
                            unsigned int *num_lines) {
    copy_out(name, name_len, gpiod_chip_name(chip->chip));
    copy_out(label, label_len, gpiod_chip_label(chip->chip));
    if (num_lines) *num_lines = gpiod_chip_num_lines(chip->chip);
    return 0;
}

int soak_gpio_line_find(soak_gpio_chip *chip, const char *name) {
    struct gpiod_line *line = gpiod_chip_find_line(chip->chip, name);
    if (!line) { if (errno == 0) errno = ENOENT; return -1; }
    return (int)gpiod_line_offset(line);
}

int soak_gpio_line_describe(soak_gpio_chip *chip, unsigned int offset, char *name, size_t name_len,
                            char *consumer, size_t consumer_len, int *used, int *is_output) {
    struct gpiod_line *line = gpiod_chip_get_line(chip->chip, offset);
    if (!line) return -1;
    if (gpiod_line_update(line) < 0) return -1;
    copy_out(name, name_len, gpiod_line_name(line));
    copy_out(consumer, consumer_len, gpiod_line_consumer(line));
    if (used) *used = gpiod_line_is_used(line) ? 1 : 0;
    if (is_output) *is_output = gpiod_line_direction(line) == GPIOD_LINE_DIRECTION_OUTPUT;
    return 0;
}

soak_gpio_request *soak_gpio_request_line(soak_gpio_chip *chip, unsigned int offset, const char *consumer,
                                          int as_is, int active_low, int value) {
    struct gpiod_line *line = gpiod_chip_get_line(chip->chip, offset);
    if (!line) return NULL;
    struct gpiod_line_request_config config = {
        .consumer = consumer,
        .request_type = as_is ? GPIOD_LINE_REQUEST_DIRECTION_AS_IS : GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
        .flags = active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
    };
    if (gpiod_line_request(line, &config, value ? 1 : 0) < 0) return NULL;
    soak_gpio_request *req = calloc(1, sizeof *req);
    if (!req) { gpiod_line_release(line); errno = ENOMEM; return NULL; }
    req->line = line;
    return req;
}

int soak_gpio_request_set(soak_gpio_request *req, int value) { return gpiod_line_set_value(req->line, value ? 1 : 0); }

int soak_gpio_request_get(soak_gpio_request *req) { return gpiod_line_get_value(req->line); }

int soak_gpio_request_fd(soak_gpio_request *req) { (void)req; errno = ENOTSUP; return -1; }

void soak_gpio_request_release(soak_gpio_request *req) {
    if (!req) return;
    gpiod_line_release(req->line);
    free(req);
}

#else
/* ---- libgpiod v2: info and settings objects; a request is a separate object from the chip. ---- */

const char *soak_gpio_version(void) { return gpiod_api_version(); }

struct soak_gpio_request { struct gpiod_line_request *request; unsigned int offset; };

int soak_gpio_chip_describe(soak_gpio_chip *chip, char *name, size_t name_len, char *label, size_t label_len,
                            unsigned int *num_lines) {
    struct gpiod_chip_info *info = gpiod_chip_get_info(chip->chip);
    if (!info) return -1;
    copy_out(name, name_len, gpiod_chip_info_get_name(info));
    copy_out(label, label_len, gpiod_chip_info_get_label(info));
    if (num_lines) *num_lines = (unsigned int)gpiod_chip_info_get_num_lines(info);
    gpiod_chip_info_free(info);
    return 0;
}

int soak_gpio_line_find(soak_gpio_chip *chip, const char *name) {
    int offset = gpiod_chip_get_line_offset_from_name(chip->chip, name);
    if (offset < 0 && errno == 0) errno = ENOENT;
    return offset;
}

int soak_gpio_line_describe(soak_gpio_chip *chip, unsigned int offset, char *name, size_t name_len,
                            char *consumer, size_t consumer_len, int *used, int *is_output) {
    struct gpiod_line_info *info = gpiod_chip_get_line_info(chip->chip, offset);
    if (!info) return -1;
    copy_out(name, name_len, gpiod_line_info_get_name(info));
    copy_out(consumer, consumer_len, gpiod_line_info_get_consumer(info));
    if (used) *used = gpiod_line_info_is_used(info) ? 1 : 0;
    if (is_output) *is_output = gpiod_line_info_get_direction(info) == GPIOD_LINE_DIRECTION_OUTPUT;
    gpiod_line_info_free(info);
    return 0;
}

soak_gpio_request *soak_gpio_request_line(soak_gpio_chip *chip, unsigned int offset, const char *consumer,
                                          int as_is, int active_low, int value) {
    soak_gpio_request *req = NULL;
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    struct gpiod_line_config *line_config = gpiod_line_config_new();
    struct gpiod_request_config *request_config = gpiod_request_config_new();
    if (!settings || !line_config || !request_config) { errno = ENOMEM; goto out; }
    if (gpiod_line_settings_set_direction(settings, as_is ? GPIOD_LINE_DIRECTION_AS_IS : GPIOD_LINE_DIRECTION_OUTPUT) < 0) goto out;
    gpiod_line_settings_set_active_low(settings, active_low != 0);
    if (!as_is && gpiod_line_settings_set_output_value(settings, value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0) goto out;
    if (gpiod_line_config_add_line_settings(line_config, &offset, 1, settings) < 0) goto out;
    gpiod_request_config_set_consumer(request_config, consumer);
    struct gpiod_line_request *request = gpiod_chip_request_lines(chip->chip, request_config, line_config);
    if (!request) goto out;
    req = calloc(1, sizeof *req);
    if (!req) { gpiod_line_request_release(request); errno = ENOMEM; goto out; }
    req->request = request;
    req->offset = offset;
out:
    {
        int saved = errno;
        gpiod_request_config_free(request_config);
        gpiod_line_config_free(line_config);
        gpiod_line_settings_free(settings);
        errno = saved;
    }
    return req;
}

int soak_gpio_request_set(soak_gpio_request *req, int value) {
    return gpiod_line_request_set_value(req->request, req->offset, value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
}

int soak_gpio_request_get(soak_gpio_request *req) {
    enum gpiod_line_value v = gpiod_line_request_get_value(req->request, req->offset);
    if (v == GPIOD_LINE_VALUE_ERROR) return -1;
    return v == GPIOD_LINE_VALUE_ACTIVE ? 1 : 0;
}

int soak_gpio_request_fd(soak_gpio_request *req) { return gpiod_line_request_get_fd(req->request); }

void soak_gpio_request_release(soak_gpio_request *req) {
    if (!req) return;
    gpiod_line_request_release(req->request);
    free(req);
}
#endif
