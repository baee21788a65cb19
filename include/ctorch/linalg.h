/* ctorch/linalg.h (being written) */
#ifndef CTORCH_LINALG_H
#define CTORCH_LINALG_H

#include "tensor.h"

#endif
