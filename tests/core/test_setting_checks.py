"""Every setting is checked once against its declared type, in the recipe layer, for every modality."""
import math

import numpy as np
import pytest

from multissl import audio, text, video, vision
from multissl.errors import USER_ERRORS
from multissl.setting_checks import InvalidSetting


def vision_recipe(**settings):
    return vision.recipe("simclr", **settings)


@pytest.mark.parametrize("make,settings,match", [
    (vision_recipe, {"steps": True}, r"TrainConfig\.steps must be an integer, got True"),
    (vision_recipe, {"steps": "2"}, r"TrainConfig\.steps must be an integer, got '2' \(a str\)"),
    (vision_recipe, {"steps": 2.5}, r"TrainConfig\.steps must be an integer, got 2\.5"),
    (vision_recipe, {"augment": "no"}, r"SimCLRConfig\.augment must be True or False, got 'no'"),
    (vision_recipe, {"lr": "fast"}, r"OptimConfig\.lr must be a number, got 'fast'"),
    (vision_recipe, {"lr": math.inf}, r"OptimConfig\.lr must be a finite number, got inf"),
    (vision_recipe, {"max_minutes": math.nan}, r"TrainConfig\.max_minutes must be a finite number, got nan"),
    (vision_recipe, {"width": 0}, r"BackboneConfig\.width must be >= 1, got 0"),
    (vision_recipe, {"arch": "resnet7"}, r"BackboneConfig\.arch must be one of \['resnet10'"),
    (audio.recipe, {"window": "big"}, r"CPCConfig\.window must be an integer, got 'big'"),
    (audio.recipe, {"encoder_kernels": [10, "8"]}, r"CPCConfig\.encoder_kernels\[1\] must be an integer"),
    (video.recipe, {"crop": "x"}, r"ClipConfig\.crop must be an integer, got 'x'"),
])
def test_a_setting_of_the_wrong_type_or_range_is_one_clear_error(make, settings, match):
    with pytest.raises(InvalidSetting, match=match) as caught:
        make(**settings)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, USER_ERRORS)  # one line on the command line


def test_values_are_normalised_and_optional_settings_take_none():
    r = vision_recipe(steps=np.int64(3), max_minutes=None, lr=np.float32(0.5), augment=np.bool_(False), epochs=2.0)
    assert (r.train.steps, r.train.max_minutes, r.optim.lr, r.task.augment, r.train.epochs) == (3, None, 0.5, False, 2)
    assert type(r.train.steps) is int and type(r.optim.lr) is float
    assert audio.recipe(encoder_kernels=[10, 8, 4, 4, 4]).model.encoder_kernels == (10, 8, 4, 4, 4)


def test_text_settings_and_the_vision_image_size_are_checked_too():
    with pytest.raises(ValueError, match=r"window must be a positive integer, got '5'"):  # text's own validate()
        text.Word2Vec(window="5")
    with pytest.raises(InvalidSetting, match=r"image_size must be >= 1, got 0"):
        vision.train("digits", None, "rotation", image_size=0, steps=1)
