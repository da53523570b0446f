"""Every file cinegen writes carries a signed C2PA manifest: Trusted against this server's
certificate authority, Invalid once a byte of the media changes."""

from __future__ import annotations

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.errors import CinegenError
from cinegen.generation import generate
from cinegen.provenance.identity import _create, load_identity
from cinegen.provenance.manifest import TRAINED_ALGORITHMIC_MEDIA, read_file
from cinegen.spec import parse_spec

pytestmark = pytest.mark.slow  # renders and signs files


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), default_model="cinegen-tiny")


def _action(manifest: dict) -> dict:
    (actions,) = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    return actions["data"]["actions"][0]


def test_every_file_is_signed_and_says_it_was_generated(settings, tmp_path):
    engine = Engine(settings)
    spec = parse_spec({"prompt": "a red circle moving right", "width": 64, "height": 64,
                       "n_frames": 12, "seed": 1, "n_variants": 2})  # fmt: skip
    result = generate(spec, out=tmp_path / "out", engine=engine)
    anchors = load_identity(settings).anchors
    files = [f for v in result.variants for f in (v.video, v.thumbnail, v.spritesheet)]
    assert {f.suffix for f in files} == {".mp4", ".webp", ".jpg"}
    for path in files:
        report = read_file(path, anchors)
        assert report.state == "Trusted", (path.name, report.problems)
        action = _action(report.manifest)
        assert action["action"] == "c2pa.created"
        assert action["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
        assert action["parameters"]["model"] == "cinegen-tiny"
        assert action["parameters"]["preset"] == "quality"
        assert action["softwareAgent"]["name"] == "cinegen"
    assert result.metadata["c2pa"] is True

    image_spec = parse_spec(
        {"type": "image_gen", "prompt": "a blue star", "width": 64, "height": 64, "seed": 1}
    )
    still = generate(image_spec, out=tmp_path / "img", engine=engine)
    assert read_file(still.variants[0].image, anchors).state == "Trusted"

    video = result.variants[0].video
    data = bytearray(video.read_bytes())
    data[data.find(b"mdat") + 64] ^= 0x01  # one bit of the pictures
    video.write_bytes(bytes(data))
    tampered = read_file(video, anchors)
    assert tampered.state == "Invalid" and tampered.problems


def test_an_extension_names_its_source_as_an_ingredient(settings, tmp_path):
    engine = Engine(settings)
    base = {"width": 64, "height": 64, "fps": 24, "seed": 2, "prompt": "a red circle"}
    source = generate(parse_spec({**base, "n_frames": 24}), out=tmp_path / "a", engine=engine)
    path = source.variants[0].video
    from cinegen.media.encode import read_frames

    frames = read_frames(path)
    extended = generate(
        parse_spec(
            {**base, "n_frames": 48, "operation": "extend", "source": {"generation_ids": ["src"]}}
        ),
        out=tmp_path / "b",
        engine=engine,
        media=lambda item: frames,
        parents=[path],
    )
    report = read_file(extended.variants[0].video, load_identity(settings).anchors)
    assert report.state == "Trusted"
    (ingredient,) = report.manifest["ingredients"]
    assert ingredient["title"] == path.name and ingredient["format"] == "video/mp4"


def test_an_operator_signs_with_their_own_certificate(settings, tmp_path):
    _create(tmp_path / "theirs")  # stands in for a certificate from another authority
    own = tmp_path / "theirs"
    chain = tmp_path / "chain.pem"
    chain.write_bytes((own / "signer.pem").read_bytes() + (own / "ca.pem").read_bytes())
    theirs = Settings(data_dir=settings.data_dir, default_model="cinegen-tiny",
                      c2pa_cert=chain, c2pa_key=own / "signer-key.pem")  # fmt: skip
    spec = parse_spec(
        {"prompt": "a green square", "width": 64, "height": 64, "n_frames": 8, "seed": 1}
    )
    result = generate(spec, out=tmp_path / "o", engine=Engine(theirs))
    video = result.variants[0].video
    assert read_file(video, (own / "ca.pem").read_bytes()).state == "Trusted"
    assert read_file(video, load_identity(settings).anchors).state == "Valid"  # not our CA
    with pytest.raises(CinegenError, match="both"):
        load_identity(Settings(data_dir=settings.data_dir, c2pa_cert=chain))


def test_files_without_a_manifest_say_so(tmp_path, settings):
    from cinegen.media.encode import encode_mp4

    plain = encode_mp4(np.zeros((4, 32, 32, 3), np.uint8), tmp_path / "plain.mp4", 24)
    report = read_file(plain, load_identity(settings).anchors)
    assert (report.state, report.manifest) == ("None", None)
