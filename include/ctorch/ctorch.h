/* ctorch: PyTorch's core ideas in C. The umbrella header: include this one. */
#ifndef CTORCH_H
#define CTORCH_H

#include "autograd.h"
#include "conv.h"
#include "data.h"
#include "device.h"
#include "elementwise.h"
#include "error.h"
#include "indexing.h"
#include "linalg.h"
#include "ops.h"
#include "optim.h"
#include "reduce.h"
#include "shape.h"
#include "tensor.h"

#endif
