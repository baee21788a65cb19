/* ctorch/elementwise.h (being written) */
#ifndef CTORCH_ELEMENTWISE_H
#define CTORCH_ELEMENTWISE_H

#include "tensor.h"

#endif
