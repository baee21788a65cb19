/* ctorch/shape.h (being written) */
#ifndef CTORCH_SHAPE_H
#define CTORCH_SHAPE_H

#include "tensor.h"

#endif
