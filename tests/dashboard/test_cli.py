"""``affectlab dashboard`` refuses what can never work before starting Streamlit."""
from affectlab.cli import main


def test_a_url_that_is_not_http_is_an_error_not_a_dashboard(capsys):
    assert main(["dashboard", "--api", "localhost:8000", "--key", "k"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
