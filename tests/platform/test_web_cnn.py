"""Convolutional models on the platform: a CNN commitment on an image challenge is checked
against the challenge's [C, H, W] sample shape, proved, verified by the platform's service,
ranked, and shown with a readable layer summary."""
import numpy as np
import pytest
from django.urls import reverse

from submissions import selectors, services
from submissions.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def cnn(tmp_path_factory, digits):
    """A small CNN on [1, 8, 8] digits (random weights), committed and saved."""
    import zkml
    from zkml.formats.model import ConvLayer, DenseLayer, MaxPoolLayer, QuantizedModel, Requant

    rng = np.random.default_rng(0)
    model = QuantizedModel((1, 8, 8), 1 / 127, 10, [
        ConvLayer(rng.integers(-127, 128, (4, 1, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), (1, 1, 1, 1),
                  Requant(20, 12)),
        MaxPoolLayer((2, 2), (2, 2), (0, 0, 0, 0)),
        DenseLayer(rng.integers(-127, 128, (10, 64)), rng.integers(-100, 100, 10), None)], [1.0] * 3)
    model.validate()
    commitment = zkml.commit(model)
    path = tmp_path_factory.mktemp("cnn") / "model.zkm"
    model.save(str(path))
    return model, commitment.to_bytes(), path


def test_cnn_entry_is_checked_verified_ranked_and_summarised(client, users, make_challenge, cnn, zk_proof):
    import zkml

    model, commitment_bytes, _ = cnn
    images = make_challenge(slug="images", input_shape=[8, 8])
    entry = services.create_submission(users.alice, images, commitment_bytes)
    dataset = zkml.load_dataset(str(zk_proof.dataset_path))
    proof = zkml.prove(model, dataset, context=f"proofboard/images/{entry.pk}")
    services.upload_proof(users.alice, entry, proof.to_bytes(), prove_seconds=1.0)
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    expected = int(np.sum(model.predict(dataset.x) == dataset.y))
    assert entry.correct_count == expected == proof.claimed_count
    assert entry.parameter_count == model.parameter_count() == 4 * 9 + 4 + 10 * 64 + 10
    assert [e.pk for e in selectors.leaderboard(images).late] == [entry.pk]
    summary = "Conv 3×3×4 → MaxPool 2 → 64→10"
    assert summary in client.get(images.get_absolute_url()).content.decode()
    assert summary in client.get(entry.get_absolute_url()).content.decode()
    board = client.get(reverse("api:leaderboard", args=["images"])).json()
    assert board["late"][0]["architecture"] == summary


def test_cnn_proof_in_the_old_per_dimension_layout_is_refused_at_upload_by_name(users, make_challenge, cnn,
                                                                                zk_proof):
    """A version-4 file of a CNN proof (made before activations were indexed jointly) is named
    and refused before anything is stored, and so is a version-7 file (made when max-pooling
    committed selector bits); the same proof as version 13 is accepted."""
    import zkml
    from submissions.errors import UploadMismatch

    model, commitment_bytes, _ = cnn
    images = make_challenge(slug="images-old", input_shape=[8, 8])
    entry = services.create_submission(users.alice, images, commitment_bytes)
    proof = zkml.prove(model, zkml.load_dataset(str(zk_proof.dataset_path)), context=f"proofboard/images-old/{entry.pk}")
    assert proof.version == 13
    with pytest.raises(UploadMismatch, match="made by an older zkml, which laid out a convolutional network"):
        services.upload_proof(users.alice, entry, proof.to_bytes(version=4), prove_seconds=1.0)
    with pytest.raises(UploadMismatch, match="made by an older zkml, which committed selector bits for max-pooling"):
        services.upload_proof(users.alice, entry, proof.to_bytes(version=7), prove_seconds=1.0)
    entry.refresh_from_db()
    assert entry.state == "committed"
    services.upload_proof(users.alice, entry, proof.to_bytes(), prove_seconds=1.0)
    assert services.run_verification(entry.pk) == "verified"


@pytest.mark.parametrize("shape", [[64], [2, 4, 8], [8, 8, 1]])
def test_cnn_commitment_for_other_image_shapes_is_refused(users, make_challenge, cnn, shape):
    from django.core.exceptions import ValidationError

    challenge = make_challenge(slug="flat", input_shape=shape)
    with pytest.raises(ValidationError, match="reads images of shape 1×8×8"):
        services.create_submission(users.alice, challenge, cnn[1])
    assert not Submission.objects.exists()
