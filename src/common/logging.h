// The library's only way to say something: the caller's LogCallback (may be empty).
#ifndef HALFCAST_COMMON_LOGGING_H_
#define HALFCAST_COMMON_LOGGING_H_

#include <string_view>

#include "halfcast/options.h"

namespace halfcast {

inline void Log(const LogCallback& sink, LogLevel level, std::string_view message) {
  if (sink) sink(level, message);
}

}  // namespace halfcast

#endif  // HALFCAST_COMMON_LOGGING_H_
