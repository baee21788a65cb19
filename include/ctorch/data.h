/* ctorch/data.h (being written) */
#ifndef CTORCH_DATA_H
#define CTORCH_DATA_H

#include "tensor.h"

#endif
