#include <sqlite3.h>
#include <stdint.h>

// SQLITE_TRANSIENT is a macro Swift cannot import; this makes SQLite copy bound buffers.
static inline sqlite3_destructor_type csqlite_transient(void) { return (sqlite3_destructor_type)-1; }
