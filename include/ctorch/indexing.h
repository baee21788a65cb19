/* ctorch/indexing.h (being written) */
#ifndef CTORCH_INDEXING_H
#define CTORCH_INDEXING_H

#include "tensor.h"

#endif
