/*
 * Geohash: bits alternate longitude, latitude, each halving its interval;
 * five bits make one base32 character.
 */
#include "geohash.h"

#include <string.h>

static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";

bool core_geohash_encode(double lat, double lon, int precision, char *out) {
    if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) || precision < 1 ||
        precision > CORE_GEOHASH_MAX)
        return false;
    double lat_lo = -90, lat_hi = 90, lon_lo = -180, lon_hi = 180;
    bool even = true; /* even bits are longitude */
    for (int i = 0; i < precision; i++) {
        int ch = 0;
        for (int bit = 0; bit < 5; bit++) {
            double *lo = even ? &lon_lo : &lat_lo, *hi = even ? &lon_hi : &lat_hi;
            double v = even ? lon : lat, mid = (*lo + *hi) / 2;
            ch <<= 1;
            if (v >= mid) {
                ch |= 1;
                *lo = mid;
            } else {
                *hi = mid;
            }
            even = !even;
        }
        out[i] = alphabet[ch];
    }
    out[precision] = '\0';
    return true;
}

bool core_geohash_decode(const char *hash, double *min_lat, double *min_lon, double *max_lat,
                         double *max_lon) {
    size_t n = hash ? strlen(hash) : 0;
    if (n == 0 || n > CORE_GEOHASH_MAX)
        return false;
    double lat_lo = -90, lat_hi = 90, lon_lo = -180, lon_hi = 180;
    bool even = true;
    for (size_t i = 0; i < n; i++) {
        const char *p = hash[i] ? strchr(alphabet, hash[i]) : NULL;
        if (!p)
            return false;
        int ch = (int)(p - alphabet);
        for (int bit = 4; bit >= 0; bit--) {
            double *lo = even ? &lon_lo : &lat_lo, *hi = even ? &lon_hi : &lat_hi;
            double mid = (*lo + *hi) / 2;
            if (ch >> bit & 1)
                *lo = mid;
            else
                *hi = mid;
            even = !even;
        }
    }
    *min_lat = lat_lo;
    *max_lat = lat_hi;
    *min_lon = lon_lo;
    *max_lon = lon_hi;
    return true;
}

bool core_geohash_valid(const char *hash, int precision) {
    double a, b, c, d;
    return hash && (int)strlen(hash) == precision && core_geohash_decode(hash, &a, &b, &c, &d);
}
