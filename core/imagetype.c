/* Image format sniffing; see imagetype.h. */
#include "imagetype.h"

#include <string.h>
#include <strings.h>

core_img_t core_img_sniff(const unsigned char *b, size_t n) {
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return CORE_IMG_JPEG;
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return CORE_IMG_PNG;
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return CORE_IMG_WEBP;
    return CORE_IMG_NONE;
}

static const struct {
    core_img_t type;
    const char *mime;
    const char *name;
} formats[] = {
    {CORE_IMG_JPEG, "image/jpeg", "jpeg"},
    {CORE_IMG_PNG, "image/png", "png"},
    {CORE_IMG_WEBP, "image/webp", "webp"},
};

core_img_t core_img_from_mime(const char *ct) {
    if (!ct)
        return CORE_IMG_NONE;
    size_t len = strcspn(ct, ";");
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strlen(formats[i].mime) == len && strncasecmp(ct, formats[i].mime, len) == 0)
            return formats[i].type;
    }
    return CORE_IMG_NONE;
}

core_img_t core_img_from_name(const char *name) {
    if (!name)
        return CORE_IMG_NONE;
    if (strcasecmp(name, "jpg") == 0)
        return CORE_IMG_JPEG;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcasecmp(name, formats[i].name) == 0)
            return formats[i].type;
    }
    return CORE_IMG_NONE;
}

const char *core_img_mime(core_img_t t) {
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].type == t)
            return formats[i].mime;
    return NULL;
}

const char *core_img_name(core_img_t t) {
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].type == t)
            return formats[i].name;
    return NULL;
}
