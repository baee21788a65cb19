/* ctorch/reduce.h (being written) */
#ifndef CTORCH_REDUCE_H
#define CTORCH_REDUCE_H

#include "tensor.h"

#endif
