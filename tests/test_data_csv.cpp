// The CSV reader and CSV datasets: numbers, headers, delimiters, line ends, integer dtypes, and errors naming the
// file, line and column.
#include <fstream>

#include "test_data_helpers.h"

namespace {
std::string write_file(const dt::TempDir &dir, const std::string &name, const std::string &text) {
    std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}
} // namespace

TEST(DataCsv, ReadsNumbers) {
    dt::TempDir dir;
    std::string p = write_file(dir, "a.csv", "1,2,3\n4.5, -5 ,6e1\n");
    ct_tensor *t = ct_csv_read(p.c_str(), nullptr);
    ASSERT_NE(t, nullptr) << ct_last_error();
    EXPECT_EQ(ct_tensor_dtype(t), CT_FLOAT32);
    EXPECT_EQ(dt::shape(t), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(dt::values(t), (std::vector<double>{1, 2, 3, 4.5, -5, 60}));
    ct_release(t);
}

TEST(DataCsv, HeaderDelimiterLineEndsAndBlankLines) {
    dt::TempDir dir;
    std::string p = write_file(dir, "b.csv", "x;y\r\n\r\n0.1;-2\r\n3;4\r\n\n");
    ct_csv_options o = {';', true, CT_FLOAT64};
    ct_tensor *t = ct_csv_read(p.c_str(), &o);
    ASSERT_NE(t, nullptr) << ct_last_error();
    EXPECT_EQ(dt::shape(t), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(dt::values(t), (std::vector<double>{0.1, -2, 3, 4}));
    ct_release(t);
}

TEST(DataCsv, IntegerDtypesNeedWholeNumbers) {
    dt::TempDir dir;
    ct_csv_options o = {0, false, CT_INT64};
    std::string p = write_file(dir, "c.csv", "1,-2\n3,4000000000\n");
    ct_tensor *t = ct_csv_read(p.c_str(), &o);
    ASSERT_NE(t, nullptr) << ct_last_error();
    EXPECT_EQ(ct_tensor_dtype(t), CT_INT64);
    EXPECT_EQ(dt::values(t), (std::vector<double>{1, -2, 3, 4e9}));
    ct_release(t);
    std::string q = write_file(dir, "d.csv", "1,2\n3,2.5\n");
    EXPECT_EQ(ct_csv_read(q.c_str(), &o), nullptr);
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "line 2, column 2: 2.5 is not a whole number");
}

TEST(DataCsv, ErrorsNameTheLineAndColumn) {
    dt::TempDir dir;
    std::string p = write_file(dir, "e.csv", "1,2\n3,abc\n");
    EXPECT_EQ(ct_csv_read(p.c_str(), nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "e.csv' line 2, column 2: 'abc' is not a number");
    p = write_file(dir, "f.csv", "1,2\n3,,4\n");
    EXPECT_EQ(ct_csv_read(p.c_str(), nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "line 2, column 2: an empty field is not a number");
    p = write_file(dir, "g.csv", "1,2,3\n4,5\n");
    EXPECT_EQ(ct_csv_read(p.c_str(), nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "g.csv' line 2 has 2 fields, but the first row has 3");
    EXPECT_EQ(ct_csv_read(dir.file("none.csv").c_str(), nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_IO, "cannot open");
    ct_csv_options u8 = {0, false, CT_UINT8};
    EXPECT_EQ(ct_csv_read(p.c_str(), &u8), nullptr);
    EXPECT_CT_ERROR(CT_ERR_DTYPE, "not uint8");
}

TEST(DataCsv, DatasetSplitsOffTheLabelColumn) {
    dt::TempDir dir;
    std::string p = write_file(dir, "h.csv", "a,b,label\n0.5,1,2\n1.5,2,0\n2.5,3,1\n");
    ct_csv_options o = {0, true, CT_FLOAT32};
    ct_dataset *ds = ct_csv_dataset(p.c_str(), &o, -1, CT_INT64);
    ASSERT_NE(ds, nullptr) << ct_last_error();
    ct_sample s;
    ASSERT_EQ(ct_dataset_get(ds, 1, &s), CT_OK);
    EXPECT_EQ(dt::values(s.field[0]), (std::vector<double>{1.5, 2}));
    EXPECT_EQ(ct_tensor_dtype(s.field[1]), CT_INT64);
    EXPECT_EQ(dt::values(s.field[1]), (std::vector<double>{0}));
    ct_sample_release(&s);
    ct_dataset_release(ds);
    // the label in the first column, as float
    ds = ct_csv_dataset(p.c_str(), &o, 0, CT_FLOAT32);
    ASSERT_EQ(ct_dataset_get(ds, 2, &s), CT_OK);
    EXPECT_EQ(dt::values(s.field[0]), (std::vector<double>{3, 1}));
    EXPECT_EQ(dt::values(s.field[1]), (std::vector<double>{2.5}));
    ct_sample_release(&s);
    ct_dataset_release(ds);
    EXPECT_EQ(ct_csv_dataset(p.c_str(), &o, 3, CT_INT64), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INDEX, "label column 3 is out of range");
    EXPECT_EQ(ct_csv_dataset(p.c_str(), &o, 0, CT_INT64), nullptr); // 0.5 is not a class
    EXPECT_CT_ERROR(CT_ERR_FORMAT, "label 0.5 in data row 1 is not a whole number");
}
