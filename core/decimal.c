/* Integers in decimal; see decimal.h. */
#include "decimal.h"

#include <string.h>

size_t core_decimal_u(unsigned long long v, char *out) {
    char d[20]; /* the digits, last first */
    size_t n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = d[n - 1 - i];
    return n;
}

size_t core_decimal(long long v, char *out) {
    if (v >= 0)
        return core_decimal_u((unsigned long long)v, out);
    out[0] = '-';
    return 1 + core_decimal_u(0ULL - (unsigned long long)v, out + 1);
}
