/*
 * Geohash (base32, "0123456789bcdefghjkmnpqrstuvwxyz"): a cell name whose
 * length is its precision. Precision 6 cells (about 1.2 km x 0.6 km) are
 * session regions; precision 7 cells (about 150 m x 150 m) are road segments.
 */
#ifndef CORE_GEOHASH_H
#define CORE_GEOHASH_H

#include <stdbool.h>
#include <stddef.h>

#define CORE_GEOHASH_MAX 12

/* Writes the precision-character geohash of (lat, lon) and a NUL into out,
 * which holds CORE_GEOHASH_MAX + 1 bytes. Returns false when lat is outside
 * [-90, 90], lon outside [-180, 180], or precision outside 1..12. */
bool core_geohash_encode(double lat, double lon, int precision, char *out);

/* The cell's bounds. Returns false when hash is not a geohash (empty, longer
 * than CORE_GEOHASH_MAX, or a character outside the alphabet). */
bool core_geohash_decode(const char *hash, double *min_lat, double *min_lon, double *max_lat,
                         double *max_lon);

/* True when hash is a valid geohash of exactly precision characters. */
bool core_geohash_valid(const char *hash, int precision);

#endif
