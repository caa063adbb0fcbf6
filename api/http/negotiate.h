/*
 * Content negotiation (RFC 9110, section 12.5.1): how much an Accept header
 * wants a media type. Pure; no HTTP library.
 */
#ifndef API_NEGOTIATE_H
#define API_NEGOTIATE_H

/* The quality (0..1) that accept gives type ("image/jpeg"): the most specific
 * matching range counts (type/subtype, then type/x, then x/x, with x meaning
 * the star). An absent or empty header accepts everything at 1. A malformed
 * q counts as 1, as most servers read it. */
double api_accept_quality(const char *accept, const char *type);

#endif
