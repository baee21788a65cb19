/* Python's repr of a float, for messages that quote a value the way PyTorch's Python code does
 * ("Invalid learning rate: -0.1", "Invalid epsilon value: 1e-08"): the shortest digits that read back to the same
 * double, in fixed notation for exponents -4..15 and scientific (two-digit exponent at least) otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

/* The shortest decimal digits of |v| that round-trip, and the decimal exponent of the first one. */
static int shortest_digits(double v, char *digits, int *exponent) {
    char e[40];
    for (int p = 0; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, fabs(v));
        if (strtod(e, NULL) == fabs(v)) break;
    }
    int n = 0;
    char *s = e;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[n++] = *s;
    while (n > 1 && digits[n - 1] == '0') n--; /* "1.50" -> "15" */
    digits[n] = '\0';
    *exponent = atoi(s + 1);
    return n;
}

const char *ct__py_float(double v, char *buf, size_t size) {
    if (isnan(v)) return snprintf(buf, size, "nan"), buf;
    if (isinf(v)) return snprintf(buf, size, v > 0 ? "inf" : "-inf"), buf;
    char digits[24], out[64];
    int x, n = shortest_digits(v, digits, &x), k = 0;
    if (signbit(v)) out[k++] = '-';
    if (x >= 16 || x < -4) { /* scientific: d[.ddd]e+XX */
        out[k++] = digits[0];
        if (n > 1) k += sprintf(out + k, ".%s", digits + 1);
        sprintf(out + k, "e%c%02d", x < 0 ? '-' : '+', abs(x));
    } else if (x >= 0) { /* integer part from the digits, zero-padded; then at least one fraction digit */
        for (int i = 0; i <= x; i++) out[k++] = i < n ? digits[i] : '0';
        out[k++] = '.';
        if (n > x + 1) k += sprintf(out + k, "%s", digits + x + 1);
        else out[k++] = '0';
        out[k] = '\0';
    } else { /* 0.000ddd */
        k += sprintf(out + k, "0.");
        for (int i = 0; i < -x - 1; i++) out[k++] = '0';
        sprintf(out + k, "%s", digits);
    }
    snprintf(buf, size, "%s", out);
    return buf;
}
