import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from multissl.figures import save_figure  # noqa: E402


def test_save_figure_writes_png_in_new_folder_and_closes(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "a" / "b" / "plot.png", title="hello", dpi=50)
    assert path == tmp_path / "a" / "b" / "plot.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig._suptitle.get_text() == "hello"
    assert not plt.fignum_exists(fig.number)
