"""The event-study figure: what it draws, checked on the Axes' artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.did.attgt import att_gt  # noqa: E402
from analysis.did.twfe import twfe  # noqa: E402
from analysis.plots.event_study import plot_event_study  # noqa: E402

ARGS = ("lemp", "year", "countyreal", "first.treat")


class UniformBandResult:
    """A stand-in for another estimator's result with a uniform band."""

    band = "uniform"
    reference_period = None
    label = "CS dynamic"
    alpha = 0.10

    def tidy(self):
        event_time = np.arange(-3, 4)
        att = 0.01 * event_time
        return pd.DataFrame(
            {
                "event_time": event_time,
                "att": att,
                "ci_lower": att - 0.02,
                "ci_upper": att + 0.02,
                "band_lower": att - 0.03,
                "band_upper": att + 0.03,
            }
        )


@pytest.fixture(scope="module")
def twfe_result():
    data = pd.read_csv("data/raw/mpdta/mpdta.csv")
    return twfe(data, *ARGS, event_study=True)


def marker_lines(ax):
    # Estimate and reference markers; errorbar caps ("_") are left out.
    return [line for line in ax.get_lines() if line.get_marker() in ("o", "s")]


def test_single_result_draws_estimates_zero_line_and_reference(twfe_result):
    ax = plot_event_study(twfe_result)
    table = twfe_result.tidy()

    points = np.concatenate([line.get_xdata() for line in marker_lines(ax)
                             if line.get_label() != "_reference"])
    assert sorted(points.tolist()) == table["event_time"].astype(float).tolist()
    horizontal = [line for line in ax.get_lines()
                  if list(line.get_ydata()) == [0, 0] and line.get_linestyle() == "-"]
    assert horizontal, "zero line missing"
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in dotted] == [-1]
    hollow = [line for line in marker_lines(ax) if line.get_label() == "_reference"]
    assert len(hollow) == 1 and hollow[0].get_markerfacecolor() in ("white", "w",
                                                                     (1, 1, 1, 1))
    assert list(hollow[0].get_xdata()) == [-1] and list(hollow[0].get_ydata()) == [0]
    plt.close(ax.figure)


def test_pre_and_post_distinguished(twfe_result):
    ax = plot_event_study(twfe_result)
    pre = [line for line in marker_lines(ax) if line.get_label() == "_pre"][0]
    post = [line for line in marker_lines(ax) if "TWFE" in line.get_label()][0]

    assert pre.get_marker() != post.get_marker()
    assert (np.asarray(pre.get_xdata()) < 0).all()
    assert (np.asarray(post.get_xdata()) >= 0).all()
    shaded = ax.patches
    assert any(patch.get_x() == -0.5 for patch in shaded if hasattr(patch, "get_x"))
    plt.close(ax.figure)


def test_legend_and_caption_state_band_type(twfe_result):
    ax = plot_event_study([twfe_result, UniformBandResult()])
    legend = [text.get_text() for text in ax.get_legend().get_texts()]

    assert legend == [
        "TWFE (95% pointwise intervals)",
        "CS dynamic (90% uniform band)",
    ]
    caption = " ".join(text.get_text() for text in ax.texts).replace("\n", " ")
    assert "TWFE: 95% pointwise confidence intervals;" in caption
    assert "CS dynamic: 90% uniform (sup-t) confidence bands" in caption
    assert "errors clustered, 500 clusters." in caption
    plt.close(ax.figure)


def test_legend_and_caption_inside_a_plainly_saved_figure(twfe_result, tmp_path):
    """Saved without bbox_inches='tight', the legend and caption below the
    axes of a figure the function made are still inside the image."""
    ax = plot_event_study([twfe_result, UniformBandResult()])
    fig = ax.figure
    fig.savefig(tmp_path / "plain.png")
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    for artist in [ax.get_legend(), *ax.texts]:
        box = artist.get_window_extent(renderer)
        assert box.y0 >= figure_box.y0 - 1 and box.x1 <= figure_box.x1 + 1, artist
    plt.close(fig)


def test_two_results_dodged_on_one_axes(twfe_result):
    fig, ax = plt.subplots()
    returned = plot_event_study(
        [twfe_result, UniformBandResult()], ax=ax, offset=0.2, colors=["k", "r"]
    )
    assert returned is ax
    posts = [line for line in marker_lines(ax) if "(" in line.get_label()]
    first, second = (np.asarray(line.get_xdata()) for line in posts)

    assert first[0] == pytest.approx(0 - 0.1) and second[0] == pytest.approx(0 + 0.1)
    assert posts[0].get_color() == "k" and posts[1].get_color() == "r"
    # The uniform band (+-0.03), not the pointwise interval, is drawn.
    segments = ax.collections[-1].get_segments()
    heights = {round(s[1][1] - s[0][1], 10) for s in segments}
    assert heights == {0.06}
    plt.close(fig)


def test_reference_row_in_tidy_is_not_drawn_as_estimate(twfe_result):
    class WithReferenceRow(UniformBandResult):
        reference_period = -1

    ax = plot_event_study(WithReferenceRow())
    estimates = [line for line in marker_lines(ax) if line.get_label() != "_reference"]
    drawn = np.concatenate([line.get_xdata() for line in estimates])
    assert -1 not in drawn.tolist() and len(drawn) == 6
    plt.close(ax.figure)


def test_drawing_is_deterministic(twfe_result):
    first = plot_event_study(twfe_result)
    second = plot_event_study(twfe_result)
    for a, b in zip(first.get_lines(), second.get_lines()):
        assert np.array_equal(a.get_xydata(), b.get_xydata())
    plt.close("all")


def test_bad_inputs_raise(twfe_result):
    with pytest.raises(ValueError, match="labels has 1 entries for 2"):
        plot_event_study([twfe_result, twfe_result], labels=["a"])
    static = twfe(pd.read_csv("data/raw/mpdta/mpdta.csv"), *ARGS)
    with pytest.raises(ValueError, match="no event-time estimates"):
        plot_event_study(static)
    with pytest.raises(ValueError, match="no tidy"):
        plot_event_study(object())
    group_time = att_gt(pd.read_csv("data/raw/mpdta/mpdta.csv"), *ARGS)
    with pytest.raises(ValueError, match=r"aggregate it first: .*'dynamic'"):
        plot_event_study(group_time)
    plt.close("all")
