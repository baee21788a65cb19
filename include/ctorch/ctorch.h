/* ctorch: PyTorch's core ideas in C. The umbrella header: include this one. */
#ifndef CTORCH_H
#define CTORCH_H

#include "device.h"
#include "error.h"
#include "tensor.h"

#endif
