"""Tables and logs as the chapters show them."""

import re

import numpy as np
import pandas as pd

from danqrepro.report import tidy


def test_tidy_formats_numbers_and_hides_the_index():
    df = pd.DataFrame({"n": [1.0, 2000.0], "loss": [0.123456, 12345.6789], "arm": ["x", "y"],
                       "censored": [True, False], "auc": [np.nan, 0.91234]})
    html = tidy(df, {"auc": "{:.3f}"}).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["1", "0.1235", "x", "True", "", "2,000", "12,346", "y", "False", "0.912"]
    assert "<th class=\"row_heading" not in html  # no index column
