/* Logging to stderr with a level, thread-safe line by line. */
#ifndef SK_BASE_LOG_H
#define SK_BASE_LOG_H

enum sk_log_level { SK_LOG_ERROR, SK_LOG_WARN, SK_LOG_INFO, SK_LOG_DEBUG };

void sk_log_set_level(enum sk_log_level l);
enum sk_log_level sk_log_get_level(void);
/* "error", "warn", "info", "debug"; returns -1 when unknown. */
int sk_log_parse_level(const char *s);
void sk_log(enum sk_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SK_ERROR(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)
#define SK_WARN(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define SK_INFO(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define SK_DEBUG(...)                                                                       \
    do {                                                                                    \
        if (sk_log_get_level() >= SK_LOG_DEBUG)                                             \
            sk_log(SK_LOG_DEBUG, __VA_ARGS__);                                              \
    } while (0)

#endif
