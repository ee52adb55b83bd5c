//===- GradientInterface.cpp - generated interface definitions ------------===//

#include "dialects/Graph/Interfaces/GradientInterface.h"

#include "dialects/Graph/Interfaces/GradientInterface.cpp.inc"
