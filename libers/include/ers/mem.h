/* Allocation that cannot fail (it aborts instead) and the bug trap. */
#ifndef ERS_MEM_H
#define ERS_MEM_H

#include <stddef.h>

void *ers_xmalloc(size_t n);
void *ers_xcalloc(size_t count, size_t size);
void *ers_xrealloc(void *p, size_t n);
char *ers_xstrdup(const char *s);
char *ers_xstrndup(const char *s, size_t n);
/* Overwrites then frees a buffer that held a secret; NULL is fine. */
void ers_free_secret(char *s);
void ers_wipe(void *p, size_t n);

_Noreturn void ers_bug(const char *file, int line, const char *what);
#define ERS_BUG(what) ers_bug(__FILE__, __LINE__, (what))

#endif
