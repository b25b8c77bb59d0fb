#pragma once
// Group commit of signal batches, shared by the stores: a caller queues its batch and waits; one
// writer thread takes everything queued so far, stores it all with one call of `commit` (one
// transaction, so one durable commit for the whole group) and only then wakes each caller with its
// receipt. Many clients share each commit, and nothing is acknowledged before it is durable.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "store.h"

namespace loopwise {

class GroupCommit {
 public:
  // Stores a group, all or nothing: one receipt per batch, in order, or the reason it failed.
  using CommitFn =
      std::function<Result<std::vector<BatchReceipt>>(const std::vector<const SignalBatch*>&)>;

  explicit GroupCommit(CommitFn commit)
      : commit_(std::move(commit)), writer_([this] { WriterLoop(); }) {}
  ~GroupCommit() { Stop(); }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Returns once the batch is durable (or failed).
  Result<BatchReceipt> Append(SignalBatch batch) {
    Pending pending{std::move(batch), {}};
    auto result = pending.done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Status::Error("store: shutting down");
      queue_.push_back(&pending);
    }
    cv_.notify_one();
    return result.get();
  }

  // Commits what is queued, then stops the writer; later appends fail. The owning store calls it
  // before closing what `commit` uses.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

 private:
  struct Pending {
    SignalBatch batch;
    std::promise<Result<BatchReceipt>> done;
  };

  void WriterLoop() {
    std::vector<Pending*> group;
    std::vector<const SignalBatch*> batches;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything queued has been committed
        group.assign(queue_.begin(), queue_.end());
        queue_.clear();
      }
      batches.clear();
      for (Pending* p : group) batches.push_back(&p->batch);
      const Result<std::vector<BatchReceipt>> receipts = commit_(batches);
      for (size_t i = 0; i < group.size(); ++i) {
        if (receipts.ok()) {
          group[i]->done.set_value(receipts.value()[i]);
        } else {
          group[i]->done.set_value(receipts.status());
        }
      }
    }
  }

  CommitFn commit_;
  std::mutex mu_;
  std::condition_variable cv_;  // wakes the writer
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::thread writer_;  // last: starts once everything above exists
};

}  // namespace loopwise
