/*
 * Files of the source tree compiled into the binary (the spec, the dashboard
 * page). API_EMBED(sym, "path") at file scope defines
 *   const char sym_start[]               the bytes, followed by a NUL
 *   const unsigned long long sym_size    their count, without the NUL
 * in read-only data, via the assembler's .incbin. The path is relative to the
 * directory make runs in; the Makefile rebuilds the object when the file
 * changes (a rule "$(BUILD)/api/x.o: path" next to the one for spec.o).
 */
#ifndef API_EMBED_H
#define API_EMBED_H

#define API_EMBED(sym, path)                                                                       \
    __asm__(                                                                                       \
        ".section .rodata\n"                                                                       \
        ".global " #sym "_start\n" #sym                                                            \
        "_start:\n"                                                                                \
        ".incbin \"" path "\"\n" #sym                                                              \
        "_end:\n"                                                                                  \
        ".byte 0\n"                                                                                \
        ".balign 8\n"                                                                              \
        ".global " #sym "_size\n" #sym                                                             \
        "_size:\n"                                                                                 \
        ".quad " #sym "_end - " #sym                                                               \
        "_start\n"                                                                                 \
        ".previous\n");                                                                            \
    extern const char sym##_start[];                                                               \
    extern const unsigned long long sym##_size

#endif
