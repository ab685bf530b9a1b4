#include "log/segment_writer.h"

#include <algorithm>

#include "fmt/format.h"

namespace ordo::log {

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(FileSystem* fs,
                                                             const std::string& log_directory,
                                                             const SegmentHeader& header) {
  const std::string path = log_directory + "/" + SegmentFileName(header.segment_id);
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(fs, path, std::move(file), header));
  const std::string bytes = EncodeSegmentHeader(header);
  ORDO_RETURN_IF_ERROR(writer->file_->Append(bytes));
  ORDO_RETURN_IF_ERROR(writer->file_->SyncAll());
  ORDO_RETURN_IF_ERROR(fs->SyncDir(log_directory));
  writer->checksum_.Update(bytes);
  writer->size_ = bytes.size();
  writer->preallocated_bytes_ = bytes.size();
  writer->last_lsn_ = header.first_lsn - 1;
  // The previous segment was sealed (fsynced) before this one was created.
  writer->durable_lsn_ = writer->last_lsn_;
  return writer;
}

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Reopen(
    FileSystem* fs, const std::string& path, const SegmentHeader& header, uint64_t size,
    uint64_t record_count, uint64_t last_lsn, const StreamingChecksum& checksum) {
  ORDO_ASSIGN_OR_RETURN(auto file, fs->ReopenWritableFile(path));
  if (file->Size() != size) {
    return Status::Corruption(
        fmt::format("{}: expected {} bytes when reopening, found {}", path, size, file->Size()));
  }
  ORDO_RETURN_IF_ERROR(file->Sync());
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(fs, path, std::move(file), header));
  writer->size_ = size;
  writer->preallocated_bytes_ = size;
  writer->record_count_ = record_count;
  writer->last_lsn_ = last_lsn;
  writer->durable_lsn_ = last_lsn;
  writer->checksum_ = checksum;
  return writer;
}

Status SegmentWriter::Sync() {
  ORDO_RETURN_IF_ERROR(file_->Sync());
  durable_lsn_ = last_lsn_;
  return Status::Ok();
}

Status SegmentWriter::Append(std::span<char> records, uint64_t record_count, uint64_t last_lsn) {
  assert(last_lsn > last_lsn_ || record_count == 0);
  assert(header_.format_version == kFormatVersion);
  const uint64_t stamped = StampRecords(records, durable_lsn_);
  assert(stamped == record_count);
  (void)stamped;
  const uint64_t end = size_ + records.size();
  if (preallocate_chunk_bytes_ > 0 && end > preallocated_bytes_) {
    const uint64_t target =
        std::max(end, std::min(end + preallocate_chunk_bytes_, preallocate_limit_bytes_));
    ORDO_RETURN_IF_ERROR(file_->Preallocate(target));
    preallocated_bytes_ = target;
  }
  const std::string_view bytes(records.data(), records.size());
  ORDO_RETURN_IF_ERROR(file_->Append(bytes));
  checksum_.Update(bytes);
  size_ += records.size();
  record_count_ += record_count;
  last_lsn_ = last_lsn;
  assert(file_->Size() == size_);
  return Status::Ok();
}

Status SegmentWriter::Finish() {
  ORDO_RETURN_IF_ERROR(file_->TrimPreallocation());
  preallocated_bytes_ = size_;
  ORDO_RETURN_IF_ERROR(file_->SyncAll());
  durable_lsn_ = last_lsn_;
  return Status::Ok();
}

Result<SegmentFooter> SegmentWriter::Seal() {
  SegmentFooter footer;
  footer.last_lsn = last_lsn_;
  footer.record_count = record_count_;
  footer.records_end = size_;
  footer.segment_checksum = checksum_.Digest();
  const std::string bytes = EncodeSegmentFooter(&footer);
  ORDO_RETURN_IF_ERROR(file_->Append(bytes));
  ORDO_RETURN_IF_ERROR(file_->TrimPreallocation());  // the footer must end the file
  ORDO_RETURN_IF_ERROR(file_->SyncAll());
  ORDO_RETURN_IF_ERROR(file_->Close());
  ORDO_RETURN_IF_ERROR(fs_->SetReadOnly(path_));
  size_ += bytes.size();
  return footer;
}

}  // namespace ordo::log
