// LatencyHistogram: a fixed log-bucket histogram of durations, for figures
// such as the commit queue's COMMIT times.  Memory is constant and
// recording is a few instructions, so it can count every event.
//
// Buckets: bucket i (0 <= i < kBounds) holds durations d with
// UpperBound(i-1) < d <= UpperBound(i), where UpperBound(i) = 16 us * 2^i,
// so the bounds run 16 us, 32 us, 64 us, ... 2^20 * 16 us (about 16.8 s);
// a last bucket (index kBounds) holds everything longer.  A percentile is
// reported as the upper bound of the bucket that holds it (an over-estimate
// by less than a factor of two), capped at the longest duration seen (which
// is also the answer when it falls into the last bucket).
//
// Not thread-safe: a value, guarded by its owner.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "common/base/clock.h"

namespace nfsrec {

class LatencyHistogram {
 public:
  static constexpr size_t kBounds = 21;
  static constexpr size_t kBuckets = kBounds + 1;  // plus the overflow bucket
  static constexpr std::chrono::microseconds kFirstBound{16};

  // The inclusive upper bound of bucket i, i < kBounds.
  static constexpr Duration UpperBound(size_t i) {
    return std::chrono::duration_cast<Duration>(kFirstBound * (int64_t{1} << i));
  }

  void Record(Duration d) {
    if (d < Duration::zero()) d = Duration::zero();
    size_t i = 0;
    while (i < kBounds && d > UpperBound(i)) ++i;
    ++buckets_[i];
    ++count_;
    sum_ += d;
    if (d > max_) max_ = d;
  }

  uint64_t count() const { return count_; }
  Duration sum() const { return sum_; }
  Duration max() const { return max_; }
  // Counts per bucket (not cumulative), the overflow bucket last.
  const std::array<uint64_t, kBuckets>& buckets() const { return buckets_; }

  // The q-quantile (0 < q <= 1) as described above; zero when empty.
  Duration Percentile(double q) const {
    if (count_ == 0) return Duration::zero();
    // The rank of the q-quantile, 1-based, rounded up: p50 of 2 is the 1st.
    double want = q * static_cast<double>(count_);
    uint64_t rank = static_cast<uint64_t>(want);
    if (static_cast<double>(rank) < want) ++rank;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBounds; ++i) {
      seen += buckets_[i];
      if (seen >= rank) return UpperBound(i) < max_ ? UpperBound(i) : max_;
    }
    return max_;
  }

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  Duration sum_{};
  Duration max_{};
};

}  // namespace nfsrec
